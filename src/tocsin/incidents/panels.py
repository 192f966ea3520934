"""Sections that higher apps add to the incident page (escalation state, notification requests)
without incidents importing them: each registers a template and a function giving its context."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    template: str
    context: object  # context(incident, request) -> dict, or None to leave the panel out
    order: int = 50


_panels = []


def register(template, context, order=50):
    _panels.append(Panel(template, context, order))
    _panels.sort(key=lambda panel: panel.order)


def rendered_for(incident, request):
    """[(template, context)] of the panels that apply to this incident."""
    found = []
    for panel in _panels:
        context = panel.context(incident, request)
        if context is not None:
            found.append((panel.template, context))
    return found
