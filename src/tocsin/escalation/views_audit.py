"""The role-validation audit pages: the latest report with its fix links, earlier runs, and
running the audit now."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core.view_access import actor, permission_required, reaches_every_team, require_for_team

from . import target_audit
from .models import TargetAudit

MANAGE = "oncall:manage"
EARLIER_RUNS = 25


def _can_run(request):
    # The audit reads every team's policies and schedules, so running it needs reach over all of them.
    return reaches_every_team(request, MANAGE)


def _render(request, report, template):
    runs = list(TargetAudit.objects.order_by("-ran_at", "-pk")[:EARLIER_RUNS])
    context = {
        "report": report,
        "counts": target_audit.count_levels(report.findings) if report else None,
        "levels": target_audit.LEVELS,
        "runs": [{"run": run, "counts": target_audit.count_levels(run.findings)} for run in runs],
        "can_run": _can_run(request),
    }
    return render(request, template, context)


@permission_required("oncall:read")
def audit_page(request):
    return _render(request, TargetAudit.objects.order_by("-ran_at", "-pk").first(), "escalation/audit.html")


@permission_required("oncall:read")
def audit_report(request, audit_id):
    return _render(request, get_object_or_404(TargetAudit, pk=audit_id), "escalation/audit_report.html")


@require_POST
@permission_required("oncall:read")
def audit_run(request):
    if not _can_run(request):
        require_for_team(request, MANAGE, None)  # refuses, audited
    report = target_audit.run(timezone.now())
    stored = target_audit.store(report, actor=actor(request), ran_by=request.user.get_username())
    counts = report.counts
    summary = (f"The audit checked {report.checked} targets: {counts['error']} error(s), "
               f"{counts['warning']} warning(s), {counts['info']} info.")
    (messages.warning if report.has_errors else messages.success)(request, summary)
    return redirect("escalation-audit-report", audit_id=stored.pk)
