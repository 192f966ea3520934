"""The notification settings pages: providers with their health and a test send (administrators),
a person's notification chains (the person, or whoever may change their contact details), and
the chat channels of a service or a team (its team's managers). Thin: the same services as the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.form_errors import apply_errors
from tocsin.core.models import Team
from tocsin.core.permissions import PermissionDeniedError
from tocsin.core.view_access import actor, permission_required, principal, require_for_team
from tocsin.directory.models import ContactMethod, Person
from tocsin.directory.values import mask
from tocsin.directory.visibility import can_edit_person

from . import chains, services, services_channels, testing
from .forms_settings import ChannelForm, ProviderForm, TestSendForm, rule_formset, settings_initial
from .models import CHANNELS, URGENCIES, NotificationRule, Provider, ServiceChannel

PROVIDERS_PERMISSION = "settings:manage"  # administrators only
CHANNELS_PERMISSION = "catalog:manage"  # for the owner team of the service (or the team itself)


# --- providers -----------------------------------------------------------------


def _providers_page(request, *, form=None, test_forms=None, test_result=None, status=200):
    rows = []
    channel_names = dict(CHANNELS)
    for provider in Provider.objects.all():
        test_form = (test_forms or {}).get(provider.pk) or TestSendForm(provider)
        rows.append({"provider": provider, "channels": ", ".join(channel_names.get(c, c) for c in provider.channels),
                     "test_form": test_form,
                     "test_result": test_result[1] if test_result and test_result[0] == provider.pk else None})
    return render(request, "notify/settings_providers.html",
                  {"rows": rows, "form": form or ProviderForm(), "editing": None}, status=status)


@permission_required(PROVIDERS_PERMISSION)
def providers(request):
    return _providers_page(request)


def _save_provider(request, form, provider):
    stored = services.stored_secrets(provider) if provider else {}
    try:
        return services.save_provider(provider, actor=actor(request), secrets=form.secrets(stored), **form.values())
    except ValidationError as exc:
        apply_errors(form, exc)
        return None


@require_POST
@permission_required(PROVIDERS_PERMISSION)
def provider_create(request):
    form = ProviderForm(request.POST)
    if form.is_valid():
        made = _save_provider(request, form, None)
        if made is not None:
            messages.success(request, f"The provider {made.name} is added.")
            return redirect("notify_settings:providers")
    return _providers_page(request, form=form, status=400)


@require_http_methods(["GET", "POST"])
@permission_required(PROVIDERS_PERMISSION)
def provider_edit(request, provider_id):
    provider = get_object_or_404(Provider, pk=provider_id)
    # The stored URL of a chat or webhook provider is a credential: only a hint of it reaches the page.
    url = services.stored_url(provider)
    stored = {"stored_secrets": bool(services.stored_secrets(provider) or url), "stored_url": url,
              "stored_kind": provider.kind}
    if request.method == "GET":
        initial = {"name": provider.name, "kind": provider.kind, "channels": provider.channels,
                   "priority": provider.priority, "enabled": provider.enabled,
                   "rate_per_minute": provider.rate_per_minute, "max_concurrent": provider.max_concurrent,
                   **settings_initial(provider.kind, provider.settings)}
        form = ProviderForm(initial=initial, **stored)
        return render(request, "notify/settings_provider_edit.html", {"form": form, "provider": provider})
    form = ProviderForm(request.POST, **stored)
    if form.is_valid():
        saved = _save_provider(request, form, provider)
        if saved is not None:
            messages.success(request, f"The provider {saved.name} is saved.")
            return redirect("notify_settings:providers")
        provider.refresh_from_db()  # the service may have set fields before refusing
    return render(request, "notify/settings_provider_edit.html", {"form": form, "provider": provider}, status=400)


@require_POST
@permission_required(PROVIDERS_PERMISSION)
def provider_test(request, provider_id):
    provider = get_object_or_404(Provider, pk=provider_id)
    form = TestSendForm(provider, request.POST)
    if not form.is_valid():
        return _providers_page(request, test_forms={provider.pk: form}, status=400)
    try:
        result = testing.test_send(provider, form.cleaned_data["channel"], form.cleaned_data["to"],
                                   actor=actor(request))
    except ValidationError as exc:
        apply_errors(form, exc)
        return _providers_page(request, test_forms={provider.pk: form}, status=400)
    return _providers_page(request, test_forms={provider.pk: form}, test_result=(provider.pk, result))


# --- notification rules --------------------------------------------------------


def _deny(request, permission):
    audit.record(actor(request), "permission.denied",
                 summary={"permission": permission, "team": None, "target": request.path[:200]})
    raise PermissionDeniedError(permission)


def _chain_rows(person, urgency, methods):
    rules = list(NotificationRule.objects.filter(person=person, urgency=urgency).select_related("method"))
    steps = chains.rule_steps(rules) if rules else chains.default_steps([m for m in methods if m.is_active], urgency)
    return bool(rules), [{"method": str(s.method.pk), "delay_minutes": int(s.delay.total_seconds() // 60),
                          "ORDER": index + 1} for index, s in enumerate(steps)]


def _rules_page(request, person, *, bound=None, status=200):
    methods = list(ContactMethod.objects.filter(person=person).order_by("order", "pk"))
    chains_shown = []
    for urgency, label in URGENCIES:
        custom, initial = _chain_rows(person, urgency, methods)
        formset = (bound or {}).get(urgency) or rule_formset(urgency, methods, initial=initial)
        chains_shown.append({"urgency": urgency, "label": label, "custom": custom, "formset": formset})
    own = person.user_id is not None and person.user_id == request.user.pk
    action = reverse("notify_settings:rules") if own else reverse("notify_settings:person-rules", args=[person.pk])
    return render(request, "notify/settings_rules.html", {
        "person": person, "chains": chains_shown, "own": own, "action": action,
        "methods": [{"kind": m.get_kind_display(), "value": mask(m.kind, m.value), "active": m.is_active}
                    for m in methods]}, status=status)


def _row_index(name):
    """'rules[2].method' -> (2, 'method'); None for errors not about a row."""
    if not name.startswith("rules["):
        return None
    index, _, field = name[len("rules["):].partition("].")
    return (int(index), field) if index.isdigit() else None


def _save_rules(request, person):
    urgency = request.POST.get("urgency", "")
    if urgency not in dict(URGENCIES):
        messages.error(request, "Choose the high or the low urgency chain.")
        return _rules_page(request, person, status=400)
    label = dict(URGENCIES)[urgency].lower()
    if request.POST.get("action") == "reset":
        services.set_notification_rules(person, urgency, [], actor=actor(request))
        messages.success(request, f"The {label} urgency chain is the default one again.")
        return redirect(request.path)
    methods = list(ContactMethod.objects.filter(person=person))
    formset = rule_formset(urgency, methods, data=request.POST)
    if not formset.is_valid():
        return _rules_page(request, person, bound={urgency: formset}, status=400)
    kept = [form for form in formset.ordered_forms if form.cleaned_data.get("method")]
    rules = [(int(form.cleaned_data["method"]), form.cleaned_data.get("delay_minutes") or 0) for form in kept]
    try:
        services.set_notification_rules(person, urgency, rules, actor=actor(request))
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            where = _row_index(name)
            if where and where[0] < len(kept) and where[1] in kept[where[0]].fields:
                for error in errors:
                    kept[where[0]].add_error(where[1], error)
            else:
                formset._non_form_errors = formset.error_class(list(errors))  # no public setter
        return _rules_page(request, person, bound={urgency: formset}, status=400)
    if rules:
        messages.success(request, f"Your {label} urgency chain is saved." if person.user_id == request.user.pk
                         else f"{person.name}'s {label} urgency chain is saved.")
    else:
        messages.success(request, f"No steps left: the {label} urgency chain is the default one again.")
    return redirect(request.path)


@require_http_methods(["GET", "POST"])
@login_required
def own_rules(request):
    person = Person.objects.filter(user=request.user).first()
    if person is None:
        return render(request, "notify/settings_rules.html", {"person": None}, status=404)
    return _save_rules(request, person) if request.method == "POST" else _rules_page(request, person)


@require_http_methods(["GET", "POST"])
@login_required
def person_rules(request, person_id):
    person = get_object_or_404(Person, pk=person_id)
    if person.user_id != request.user.pk and not can_edit_person(principal(request), person):
        _deny(request, "contacts:write")
    return _save_rules(request, person) if request.method == "POST" else _rules_page(request, person)


# --- service and team channels -------------------------------------------------


def _channels_page(request, *, service=None, team=None, form=None, status=200):
    owner = service or team
    rows = ServiceChannel.objects.filter(service=service) if service else ServiceChannel.objects.filter(team=team)
    inherited = ServiceChannel.objects.filter(team_id=service.owner_team_id) if service else []
    return render(request, "notify/settings_channels.html", {
        "service": service, "team": team, "owner": owner, "form": form or ChannelForm(),
        "channels": [{"channel": c, "url": services_channels.mask_url(c.url)} for c in rows],
        "inherited": [{"channel": c, "url": services_channels.mask_url(c.url)} for c in inherited],
    }, status=status)


def _add_channel(request, *, service=None, team=None):
    form = ChannelForm(request.POST)
    if form.is_valid():
        try:
            channel = services_channels.add_channel(service=service, team=team, actor=actor(request),
                                                    **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"The channel {channel.name} is added.")
            return redirect(request.path)
    return _channels_page(request, service=service, team=team, form=form, status=400)


@require_http_methods(["GET", "POST"])
@login_required
def service_channels(request, service_id):
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    require_for_team(request, CHANNELS_PERMISSION, service.owner_team_id)
    if request.method == "POST":
        return _add_channel(request, service=service)
    return _channels_page(request, service=service)


@require_http_methods(["GET", "POST"])
@login_required
def team_channels(request, slug):
    team = get_object_or_404(Team, slug=slug)
    require_for_team(request, CHANNELS_PERMISSION, team.pk)
    if request.method == "POST":
        return _add_channel(request, team=team)
    return _channels_page(request, team=team)


@require_POST
@login_required
def channel_remove(request, channel_id):
    channel = get_object_or_404(ServiceChannel.objects.select_related("service", "team"), pk=channel_id)
    owner_team = channel.service.owner_team_id if channel.service_id else channel.team_id
    require_for_team(request, CHANNELS_PERMISSION, owner_team)
    back = (reverse("notify_settings:service-channels", args=[channel.service_id]) if channel.service_id
            else reverse("notify_settings:team-channels", args=[channel.team.slug]))
    services_channels.remove_channel(channel, actor=actor(request))
    messages.success(request, f"The channel {channel.name} is removed.")
    return redirect(back)
