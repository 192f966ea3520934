"""The escalation section of the incident page: where the escalation stands, who was paged and
every notification request, registered with the incidents app's panel registry."""

from tocsin.incidents import panels

from . import selectors

TEMPLATE = "escalation/incident_panel.html"
ORDER = 20  # right after the incident's own sections, before later additions


def context(incident, request):
    """The panel's context, or None when the incident has no escalation (nothing to show)."""
    found = selectors.incident_escalation(incident)
    if found is None:
        return None
    fallback = [r.person for r in found["requests"] if r.reason == r.FALLBACK and r.run == found["escalation"].run]
    return {"escalation_panel": {**found, "incident": incident, "fallback_people": fallback}}


_registered = []


def register():
    """Once per process, however often the app is readied."""
    if not _registered:
        panels.register(TEMPLATE, context, order=ORDER)
        _registered.append(TEMPLATE)
