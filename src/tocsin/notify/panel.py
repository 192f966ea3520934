"""The deliveries section of the incident page: every attempt to reach someone about it, with the
method masked, the provider, the status and the provider's answer time."""

from tocsin.incidents import panels

from .models import Attempt

TEMPLATE = "notify/_incident_deliveries.html"
ORDER = 25  # after the escalation section, before the alerts
MAX_ATTEMPTS = 200
_registered = []


def context(incident, request):
    rows = list(Attempt.objects.filter(incident_id=incident.pk).select_related("person")
                .only("person__name", "channel", "destination", "provider", "failover_from", "status", "due_at",
                      "sent_at", "finished_at", "latency_ms", "error", "tries", "carrier_id", "step")
                .order_by("due_at", "pk")[:MAX_ATTEMPTS + 1])
    if not rows:
        return None
    return {"deliveries": {"attempts": rows[:MAX_ATTEMPTS], "more": len(rows) > MAX_ATTEMPTS}}


def register():
    if not _registered:
        panels.register(TEMPLATE, context, order=ORDER)
        _registered.append(TEMPLATE)
