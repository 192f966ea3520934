"""Grafana unified alerting's webhook: Alertmanager's group shape plus Grafana's own fields
(title, message, state, orgId; per alert values, valueString and dashboard, panel, silence and
image addresses)."""

from . import register
from .alertmanager import parse_group, web_link

GROUP_STRINGS = ("title", "message", "state")
ALERT_LINKS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))


def _group(body, shape):
    for name in GROUP_STRINGS:
        shape.optional(body, name, str, "", "a string")
    shape.optional(body, "orgId", int, "", "a whole number")


def _alert(item, where, shape, event):
    values = shape.optional(item, "values", dict, where, "an object")
    value_string = shape.optional(item, "valueString", str, where, "a string")
    for name, _ in ALERT_LINKS:
        shape.optional(item, name, str, where, "a string")
    image = shape.optional(item, "imageURL", str, where, "a string")
    shape.optional(item, "orgId", int, where, "a whole number")
    if values:
        event.details["values"] = values
    if value_string:
        event.details["valueString"] = value_string
    for name, label in ALERT_LINKS:
        event.links += web_link(item.get(name), label)
    for link in web_link(image, "Image"):
        event.links.append({**link, "image": True})


@register("grafana", kinds={"grafana"})
def parse_grafana(body, integration, size):
    # Grafana has always sent version "1"; any string is taken, as its format grows by addition.
    return parse_group(body, integration, size, extra=_alert, group_extra=_group)
