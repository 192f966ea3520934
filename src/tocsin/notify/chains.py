"""A person's notification chain for one urgency: which contact methods, how long after the page.

Each person has one chain per urgency (their `NotificationRule`s, or the default below). Methods
whose use does not allow the incident (emergency-only on a routine page) are left out, and so are
methods outside their availability window when the step falls due, except in emergency state
(DESIGN: emergency use)."""

from dataclasses import dataclass
from datetime import timedelta

from tocsin.directory import availability
from tocsin.directory.models import ContactMethod
from tocsin.incidents.models import Incident

from .models import CHAT, EMAIL, HIGH, SMS, VOICE, WEBHOOK, NotificationRule

CHANNEL_OF = {
    ContactMethod.SMS: SMS, ContactMethod.SATELLITE: SMS, ContactMethod.VOICE: VOICE,
    ContactMethod.EMAIL: EMAIL, ContactMethod.ALT_EMAIL: EMAIL, ContactMethod.CHAT: CHAT,
    ContactMethod.WEBHOOK: WEBHOOK,
}
# Without rules of their own: minutes after the page, per method kind (None: not used).
DEFAULT_DELAYS = {
    HIGH: {ContactMethod.SMS: 0, ContactMethod.EMAIL: 0, ContactMethod.CHAT: 0, ContactMethod.WEBHOOK: 0,
           ContactMethod.VOICE: 2, ContactMethod.ALT_EMAIL: 5, ContactMethod.SATELLITE: 10},
    "low": {ContactMethod.EMAIL: 0, ContactMethod.CHAT: 0, ContactMethod.WEBHOOK: 0, ContactMethod.ALT_EMAIL: 10,
            ContactMethod.SMS: 30},
}


@dataclass(frozen=True)
class Step:
    position: int
    delay: timedelta
    method: ContactMethod

    @property
    def channel(self):
        return CHANNEL_OF[self.method.kind]


def in_emergency(incident):
    """Emergency state: a declared emergency once incident command exists (an `emergency` flag on
    the incident); until then high urgency on a criticality-1 service."""
    if getattr(incident, "emergency", False):
        return True
    return incident.urgency == Incident.HIGH and getattr(incident.service, "tier", None) == 1


def reachable(method):
    """Whether Tocsin can send to the method at all. A chat method holding a handle (a Slack
    member id for the buttons, '@ana') names someone; only one holding a URL (a webhook, an
    Apprise URL) can be sent to."""
    if method.kind not in CHANNEL_OF:
        return False
    return method.kind != ContactMethod.CHAT or "://" in (method.value or "")


def usable(method, *, emergency, at):
    if not method.is_active or not reachable(method):
        return False
    if method.usage == ContactMethod.EMERGENCY_ONLY and not emergency:
        return False
    return emergency or availability.is_available(method.availability, at)


def default_steps(methods, urgency):
    delays = DEFAULT_DELAYS[HIGH if urgency == HIGH else "low"]
    ordered = sorted((m for m in methods if m.kind in delays), key=lambda m: (delays[m.kind], m.order, m.pk))
    return [Step(index, timedelta(minutes=delays[m.kind]), m) for index, m in enumerate(ordered)]


def rule_steps(rules):
    return [Step(index, timedelta(minutes=rule.delay_minutes), rule.method)
            for index, rule in enumerate(sorted(rules, key=lambda r: (r.position, r.pk)))]


def chains_for(people_ids, urgency):
    """{person id: [Step]} before filtering, read in two queries for any number of people."""
    rules = {}
    for rule in NotificationRule.objects.filter(person_id__in=people_ids, urgency=urgency).select_related("method"):
        rules.setdefault(rule.person_id, []).append(rule)
    methods = {}
    for method in ContactMethod.objects.filter(person_id__in=[p for p in people_ids if p not in rules],
                                               is_active=True):
        methods.setdefault(method.person_id, []).append(method)
    return {pid: rule_steps(rules[pid]) if pid in rules else default_steps(methods.get(pid, []), urgency)
            for pid in people_ids}


def usable_steps(steps, *, emergency, start):
    """The steps whose method may be used when each falls due (`start` + its delay)."""
    return [s for s in steps if usable(s.method, emergency=emergency, at=start + s.delay)]
