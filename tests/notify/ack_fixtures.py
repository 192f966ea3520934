"""Shared setup of the acknowledgement tests: a service whose policy pages Ana and Ben, and
incidents triggered through the incident services and paged by the real escalation engine."""

from datetime import timedelta

from django.utils import timezone

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.engine import runner
from tocsin.escalation import services as escalation
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.incidents.models import TimelineEntry

SYSTEM = audit.Actor.system("test")
ANA_PHONE, BEN_PHONE, STRANGER_PHONE = "+14155550101", "+14155550102", "+14155550199"


class Scene:
    """make_team, person and make_user are the suite's fixtures; Ana has a login, Ben has none."""

    def __init__(self, make_team, person, make_user):
        team = make_team("Platform")
        self.service = catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical",
                                              owner_team=team, tier=2)
        self.ana = person("Ana", user=make_user("ana"))
        self.ben = person("Ben")
        self.carl = person("Carl")  # in the directory, never paged
        tier = {"delay_minutes": 10, "targets": [{"type": "person", "id": p.pk} for p in (self.ana, self.ben)]}
        policy = escalation.create_policy("Payments on call", {"tiers": [tier]}, actor=SYSTEM)
        escalation.link_service(self.service, policy, actor=SYSTEM)

    def trigger(self, title="Card payments failing", **fields):
        """An incident, with its first tier paged (Ana and Ben) by the engine."""
        now = timezone.now()
        incident = incidents.trigger_incident(self.service, title, actor=SYSTEM, at=now, **fields)
        escalate(now)
        assert NotificationRequest.objects.filter(incident=incident, person=self.ana).exists()
        incident.refresh_from_db()
        return incident

    def method(self, person, kind, value):
        return directory.add_method(actor=SYSTEM, source="cli", person=person, kind=kind, value=value)


def escalate(now, worker="ack-tests"):
    """Run the escalation jobs due at `now` as the engine would; the notify dispatcher's jobs are
    left alone (these tests answer pages, they do not send them)."""
    for _ in range(10):
        jobs = runner.claim(worker, now, timedelta(minutes=1), 100)
        mine = [job for job in jobs if job.kind.startswith("escalation.")]
        runner.release([job for job in jobs if job not in mine], worker)
        if not mine:
            return
        runner.run_claimed(mine, worker, now)


def timeline(incident, kind):
    return list(TimelineEntry.objects.filter(incident=incident, kind=kind).values_list("message", flat=True))


def audited(action):
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))
