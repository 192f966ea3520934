"""Administration pages: users, roles, teams, MFA policy and the audit log."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import audit, audit_export, mfa, services
from .form_errors import apply_errors
from .forms import MembershipForm, RoleAssignForm, TeamForm, UserCreateForm
from .models import AuditEntry, Membership, RoleAssignment, RolePolicy, Team, User
from .permissions import ROLES, can
from .view_access import permission_required, principal


def _actor(request):
    return audit.Actor.user(request.user)


@permission_required("users:manage")
def users(request):
    queryset = User.objects.order_by("username").prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("team")),
    )
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(request, "core/users.html", {"page": page, "form": UserCreateForm()})


@require_POST
@permission_required("users:manage")
def user_create(request):
    form = UserCreateForm(request.POST)
    if form.is_valid():
        try:
            user = services.create_user(actor=_actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("admin-user", user_id=user.pk)
    return render(request, "core/users.html", {"page": Paginator(User.objects.none(), 50).get_page(1), "form": form}, status=400)


@permission_required("users:manage")
def user_detail(request, user_id):
    user = get_object_or_404(User, pk=user_id)
    return render(
        request,
        "core/user_detail.html",
        {
            "subject": user,
            "assignments": RoleAssignment.objects.filter(user=user).select_related("team"),
            "memberships": Membership.objects.filter(user=user).select_related("team"),
            "role_form": RoleAssignForm(),
            "member_form": MembershipForm(),
            "mfa_enabled": mfa.has_mfa(user),
        },
    )


@require_POST
@permission_required("users:manage")
def user_action(request, user_id, action):
    user = get_object_or_404(User, pk=user_id)
    actor = _actor(request)
    try:
        if action == "assign-role":
            form = RoleAssignForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.assign_role(user, form.cleaned_data["role"], actor=actor, team=form.cleaned_data["team"])
        elif action == "revoke-role":
            assignment = get_object_or_404(RoleAssignment, pk=_posted_id(request, "assignment"), user=user)
            services.revoke_role(assignment, actor=actor)
        elif action == "add-team":
            form = MembershipForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.add_member(form.cleaned_data["team"], user, actor=actor)
        elif action == "remove-team":
            form = MembershipForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.remove_member(form.cleaned_data["team"], user, actor=actor)
        elif action in {"activate", "deactivate"}:
            if user == request.user:
                raise ValidationError("You cannot deactivate yourself.")
            services.set_active(user, action == "activate", actor=actor)
        elif action == "reset-mfa":
            return _reset_mfa(request, user)
        else:
            return render(request, "web/error.html", {"status": 404, "detail": "Unknown action."}, status=404)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Saved.")
    return redirect("admin-user", user_id=user.pk)


def _posted_id(request, name):
    value = request.POST.get(name, "")
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise ValidationError(f"'{name}' must be a number.")
    return int(value)


@mfa.require_step_up
def _reset_mfa(request, user):
    services.reset_mfa(user, actor=_actor(request))
    messages.success(request, f"MFA reset for {user.username}; they enrol again at next sign-in if their role requires it.")
    return redirect("admin-user", user_id=user.pk)


@permission_required("users:manage")
def teams(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(actor=_actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect("admin-teams")
    listing = Team.objects.prefetch_related(Prefetch("memberships", queryset=Membership.objects.select_related("user")))
    return render(request, "core/teams.html", {"teams": listing, "form": form})


@permission_required("settings:manage")
def role_policies(request):
    if request.method == "POST":
        return _save_role_policies(request)
    required = set(RolePolicy.objects.filter(require_mfa=True).values_list("role", flat=True))
    rows = [{"role": role, "label": label, "require_mfa": role in required} for role, label in ROLES.items()]
    return render(request, "core/role_policies.html", {"rows": rows})


@mfa.require_step_up
def _save_role_policies(request):
    chosen = set(request.POST.getlist("require_mfa"))
    for role in ROLES:
        services.set_role_policy(role, actor=_actor(request), require_mfa=role in chosen)
    messages.success(request, "MFA policy saved.")
    return redirect("admin-role-policies")


@permission_required("audit:read")
def audit_log(request):
    filters = audit_export.filters_from_query(request.GET)
    page = Paginator(filters.apply(AuditEntry.objects.order_by("-seq")), 50).get_page(request.GET.get("page"))
    verdict = audit.verify() if request.GET.get("verify") else None
    return render(
        request,
        "core/audit.html",
        {"page": page, "filters": filters, "verdict": verdict, "can_export": can(principal(request), "audit:export")},
    )


@permission_required("audit:export")
def audit_download(request, fmt):
    filters = audit_export.filters_from_query(request.GET)
    return audit_export.response(filters, fmt, actor=_actor(request))
