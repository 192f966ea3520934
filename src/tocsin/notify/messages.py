"""The message of one send: the rendered template for the channel and urgency, with fresh ack and
resolve links bound to the person and the incident, and the incidents bundled with it."""

from tocsin.incidents.access import visible_to
from tocsin.incidents.models import Incident

from . import links, rendering, tokens
from .models import AckToken
from .providers.base import Message


def _may_see(person, incident):
    if not incident.security:
        return True
    user = person.user
    return user is not None and Incident.objects.filter(pk=incident.pk).filter(visible_to(user)).exists()


def build(carrier, carried, now, token_rows, templates=None):
    """The message, and what was rendered; the ack and resolve tokens' rows are added to
    `token_rows` for the caller to store (with the claim, before anything is sent). `templates`:
    the administrators' templates, read once by a caller that builds many messages."""
    incident, person = carrier.incident, carrier.person
    ack, ack_row = tokens.make(person, incident, AckToken.ACKNOWLEDGE, now=now)
    resolve, resolve_row = tokens.make(person, incident, AckToken.RESOLVE, now=now)
    token_rows += [ack_row, resolve_row]
    urls = {"ack_url": links.ack_url(ack), "resolve_url": links.resolve_url(resolve),
            "incident_url": links.incident_url(incident)}
    others = []
    for attempt in carried:
        if attempt.incident_id != incident.pk and all(o.pk != attempt.incident_id for o in others):
            others.append(attempt.incident)
    bundle = [(i, links.incident_url(i)) for i in ([incident, *others] if others else [])]
    context = rendering.incident_context(incident, person, links=urls, bundle=bundle,
                                         audience_may_see=_may_see(person, incident))
    rendered = rendering.render(carrier.channel, incident.urgency, context, templates)
    data = {"incident_id": incident.pk, "number": incident.number, "reference": incident.reference,
            "title": incident.title, "urgency": incident.urgency, "status": incident.status,
            "reply_to": tokens.reply_address(ack) if tokens.replies_reach_us() else "", **urls,
            "bundle": [i.reference for i, _ in bundle]}
    return Message(channel=carrier.channel, to=carrier.method.value, subject=rendered.subject, text=rendered.text,
                   html=rendered.html, data=data, key=str(carrier.message_id),
                   status_callback=links.absolute("/notify/twilio/status"),
                   voice_url=links.absolute(f"/notify/twilio/voice/{carrier.message_id}")), rendered
