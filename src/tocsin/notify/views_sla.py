"""The provider SLA page: delivery figures per provider, channel and window, and breaches (F8);
for administrators and auditors."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from tocsin.core.permissions import can, require
from tocsin.core.view_access import principal

from . import sla

PERMISSIONS = ("settings:manage", "audit:read")


def may_read(request):
    who = principal(request)
    return any(can(who, perm) for perm in PERMISSIONS)


@login_required
def sla_page(request):
    if not may_read(request):
        require(principal(request), PERMISSIONS[0], target=request.path[:200])  # raises, audited
    now = timezone.now()
    rows = sla.figures(now)
    groups = {}
    for row in rows:
        groups.setdefault((row.provider, row.channel), []).append(row)
    breached = [key for key, found in groups.items()
                if any(f.window == sla.BREACH_WINDOW and f.breached for f in found)]
    return render(request, "notify/sla.html", {
        "groups": [{"provider": p, "channel": c, "rows": found, "breached": (p, c) in breached}
                   for (p, c), found in groups.items()],
        "breached": breached, "now": now, "breach_window": sla.BREACH_WINDOW})
