"""The alerts section of the incident page: the incident's alerts, how each was handled, and the
context attached when it opened, registered with the incidents app's panel registry."""

from tocsin.incidents import panels

from .enrichment import enrich_key, safe_href
from .models import Alert

TEMPLATE = "alerts/_incident_alerts.html"
ORDER = 30  # after the escalation section
MAX_ALERTS = 100


def _enrichment(incident):
    """The context entry, read from the timeline the page has loaded already (no query)."""
    key = enrich_key(incident)
    for entry in incident.timeline.all():
        if entry.key == key:
            found = entry.data.get("enrichment")
            return _checked(found) if isinstance(found, dict) else None
    return None


def _checked(enrichment):
    """Stored context with every link checked again before it becomes clickable."""
    checked = dict(enrichment)
    for name in ("runbooks", "links", "changes"):
        items = enrichment.get(name) if isinstance(enrichment.get(name), list) else []
        checked[name] = [{**item, "href": safe_href(item.get("href")) or ""}
                         for item in items if isinstance(item, dict)]
    return checked


def _links(alert):
    # Alert links came from outside: only http(s) ones become clickable.
    return [{"text": link.get("text") or link.get("href"), "href": link["href"]}
            for link in (alert.links if isinstance(alert.links, list) else ())
            if isinstance(link, dict) and safe_href(link.get("href"))]


def context(incident, request):
    """The panel's context, or None for an incident no alert is part of (reported by hand)."""
    rows = list(Alert.objects.filter(incident_id=incident.pk)
                .only("status", "severity", "summary", "source", "occurrences", "first_seen", "last_seen",
                      "handling", "reason", "links", "security", "dedup_key", "incident_id")
                .order_by("first_seen", "pk")[:MAX_ALERTS + 1])
    enrichment = _enrichment(incident)
    if not rows and enrichment is None and not incident.security:
        return None
    alerts = [{"alert": alert, "links": _links(alert)} for alert in rows[:MAX_ALERTS]]
    return {"alerts_panel": {"incident": incident, "alerts": alerts, "more": len(rows) > MAX_ALERTS,
                             "enrichment": enrichment}}


_registered = []


def register():
    """Once per process, however often the app is readied."""
    if not _registered:
        panels.register(TEMPLATE, context, order=ORDER)
        _registered.append(TEMPLATE)
