"""Incident lifecycle posts to the chat channels of a service and of its owner team (F1, F6).

Each (channel, incident, event, instant) becomes one engine job, scheduled inside the transaction
that changed the incident, so a change that rolls back is never announced. The job's key merges a
repeated signal while the post is pending, and the timeline entry of a post that was taken (keyed
the same) makes a later job of that key send nothing: a retried step never posts twice.

"Escalated" follows the escalation outbox rather than `escalation_requested`: that signal only
covers escalation by hand, and the tiers' own timeline entries are bulk-written (no post_save).
Every page escalation writes (a later tier, a repeat, a resolution deadline, the final fallback)
goes through `escalation.signals.notifications_requested`, whether the tier advanced by its
timer, by hand or because the previous tier could not be reached, so that is where it is seen."""

import copy
import importlib
from datetime import datetime

from django.db.models import Q

from tocsin.engine import queue
from tocsin.engine import signals as engine_signals
from tocsin.escalation import signals as escalation_signals
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import signals as incident_signals
from tocsin.incidents.models import Incident, TimelineEntry

from . import links, rendering
from .models import CHAT, ServiceChannel
from .providers.base import Message

JOB = "notify.channel_post"
TRIGGERED, ACKNOWLEDGED, ESCALATED, RESOLVED = ServiceChannel.EVENTS
HEADLINES = {TRIGGERED: "Triggered", ACKNOWLEDGED: "Acknowledged", ESCALATED: "Escalated", RESOLVED: "Resolved"}
# What the room is told the incident's state was when the event happened (a retried post later
# must not describe a newer state as if it were this event's).
STATUS_AT = {TRIGGERED: Incident.TRIGGERED, ACKNOWLEDGED: Incident.ACKNOWLEDGED, ESCALATED: Incident.TRIGGERED,
             RESOLVED: Incident.RESOLVED}


def job_key(channel_id, incident_id, event, at):
    return f"{JOB}:{channel_id}:{incident_id}:{event}:{at.isoformat()}"


def channels_for(incident, event):
    """The enabled channels of the incident's service and of the service's owner team that
    subscribe to `event`."""
    service = incident.service
    rows = ServiceChannel.objects.filter(enabled=True).filter(
        Q(service_id=service.pk) | Q(team_id=service.owner_team_id)).order_by("pk")
    return [c for c in rows if event in (c.events or [])]


def announce(incident, event, at):
    """Schedule one post per subscribed channel; returns how many were scheduled."""
    batch = [(JOB, at, {"channel": c.pk, "incident": incident.pk, "event": event, "at": at.isoformat()},
              job_key(c.pk, incident.pk, event, at)) for c in channels_for(incident, event)]
    if batch:
        queue.schedule_many(batch)  # a key still pending is kept as it is
    return len(batch)


def posted_key(key):
    """The timeline key of a post that was taken: a job of the same key finds it and sends nothing."""
    return f"{key}:posted"[:200]


def escalated_incidents(at):
    """Incidents whose escalation paged beyond its first tier at `at` (in the outbox batch just written)."""
    paged_on = (Q(reason=NotificationRequest.PAGE) & (Q(tier__gt=0) | Q(cycle__gt=0))) | Q(
        reason__in=(NotificationRequest.FALLBACK, NotificationRequest.DEADLINE))
    ids = (NotificationRequest.objects.filter(paged_on, created_at=at)
           .values_list("incident_id", flat=True).distinct())
    return Incident.objects.filter(pk__in=list(ids)).select_related("service").order_by("pk")


def message_for(channel, incident, event, key):
    """The post for `event`, rendered with the chat template for an audience without need-to-know:
    a security incident shows its reference and title only."""
    snapshot = copy.copy(incident)
    snapshot.status = STATUS_AT[event]
    urls = {"incident_url": links.incident_url(incident)}
    may_see = not incident.security
    context = rendering.incident_context(snapshot, None, links=urls, audience_may_see=may_see)
    rendered = rendering.render(CHAT, incident.urgency, context)
    headline = HEADLINES[event]
    data = {"event": event, "incident_id": incident.pk, "number": incident.number, "reference": incident.reference,
            "title": incident.title, "urgency": incident.urgency, "status": snapshot.status, **urls}
    if may_see:
        data["service"] = incident.service.name
    if channel.kind == ServiceChannel.SLACK:
        data["interactive"] = True  # Acknowledge and Resolve call back /notify/slack/interactive
    return Message(channel=CHAT, to=channel.url, subject=f"{headline}: {rendered.subject}",
                   text=f"{headline}: {rendered.text}", data=data, key=key)


def _on(event):
    def receive(sender, incident, at, **kwargs):
        announce(incident, event, at)
    receive.__name__ = f"channel_post_{event}"
    return receive


_receivers = {event: _on(event) for event in (TRIGGERED, ACKNOWLEDGED, RESOLVED)}


def _paged(sender, at, **kwargs):
    for incident in escalated_incidents(at):
        announce(incident, ESCALATED, at)


def _dead(sender, kind, payload, error, at, **kwargs):
    """A post that failed on every attempt is said on the incident's timeline."""
    if kind != JOB:
        return
    from tocsin.incidents.services import record_entry

    incident = Incident.objects.filter(pk=payload.get("incident")).first()
    channel = ServiceChannel.objects.filter(pk=payload.get("channel")).first()
    if incident is None or channel is None:
        return
    key = job_key(channel.pk, incident.pk, payload.get("event", ""), datetime.fromisoformat(payload["at"]))
    record_entry(incident, TimelineEntry.NOTIFIED,
                 f"Could not post to {channel.name}: it failed on every attempt ({error}).",
                 key=f"{key}:dead"[:200], at=at, data={"channel": channel.pk, "event": payload.get("event"),
                                                        "failed": True})


def connect():
    """Called once the apps are ready (NotifyConfig.ready)."""
    importlib.import_module(f"{__package__}.jobs_channels")  # registers the post's handler

    incident_signals.triggered.connect(_receivers[TRIGGERED], dispatch_uid="notify.channels.triggered")
    incident_signals.acknowledged.connect(_receivers[ACKNOWLEDGED], dispatch_uid="notify.channels.acknowledged")
    incident_signals.resolved.connect(_receivers[RESOLVED], dispatch_uid="notify.channels.resolved")
    escalation_signals.notifications_requested.connect(_paged, dispatch_uid="notify.channels.escalated")
    engine_signals.job_dead.connect(_dead, dispatch_uid="notify.channels.dead")
