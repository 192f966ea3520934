"""Need-to-know through incidents: while an incident is open, the people it involves (paged by its
escalation, added, or assigned) may see each other's contact values, and nobody else's; once it is
resolved, that need ends."""

from datetime import datetime, timedelta, timezone

import pytest

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.core.permissions import Principal
from tocsin.directory import services as directory
from tocsin.directory.visibility import can_view_contact, reveal
from tocsin.engine.worker import Engine
from tocsin.escalation import services as escalation
from tocsin.incidents import services

SYSTEM = audit.Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def run_engine(until):
    """Every escalation step up to `until`, each at its due time."""
    from tocsin.engine.models import Job

    while True:
        due = (Job.objects.filter(state=Job.PENDING, due_at__lte=until, kind__startswith="escalation")
               .order_by("due_at").values_list("due_at", flat=True).first())
        if due is None:
            return
        Engine(name="test-engine", clock=lambda: due).run_due(due)


@pytest.fixture
def service(make_team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical",
                                  owner_team=make_team("Platform"), tier=2)


@pytest.fixture
def staff(db, make_user):
    """People who sign in, each a plain responder without standing access to contact values."""

    def make(name):
        user = make_user(name.lower(), roles=["responder"])
        person = directory.create_person(actor=SYSTEM, source="cli", name=name, user=user)
        directory.add_method(actor=SYSTEM, source="cli", person=person, kind="sms", value="+49 170 5550100")
        return person

    return make


def viewer(person):
    return Principal.load(person.user)


@pytest.fixture
def paging(service, staff):
    """Ana (tier 1) and Ben (tier 2) paged by one incident; Chen and Dana outside it."""
    ana, ben, chen, dana = staff("Ana"), staff("Ben"), staff("Chen"), staff("Dana")
    policy = escalation.create_policy("Payments", {"tiers": [
        {"delay_minutes": 5, "targets": [{"type": "person", "id": ana.pk}]},
        {"delay_minutes": 5, "targets": [{"type": "person", "id": ben.pk}]},
    ], "follow_up_minutes": 0}, actor=SYSTEM)
    escalation.link_service(service, policy, actor=SYSTEM)
    incident = services.trigger_incident(service, "Card payments failing", actor=SYSTEM, at=T0)
    run_engine(T0 + timedelta(minutes=5))
    return incident, ana, ben, chen, dana


def test_people_paged_by_an_open_incident_see_each_others_contacts(paging):
    incident, ana, ben, _, _ = paging
    decision = can_view_contact(viewer(ana), ben)
    assert decision and decision.basis == "incident" and decision.incident == incident.reference
    assert can_view_contact(viewer(ben), ana).basis == "incident"


def test_nobody_outside_the_incident_is_visible_nor_sees_in(paging):
    _, ana, ben, chen, dana = paging
    assert not can_view_contact(viewer(ana), chen)
    assert not can_view_contact(viewer(chen), ana)
    assert not can_view_contact(viewer(chen), dana)


def test_the_need_holds_while_acknowledged_and_ends_with_resolution(paging):
    incident, ana, ben, _, _ = paging
    services.acknowledge(incident, actor=SYSTEM, at=T0 + timedelta(minutes=6))
    assert can_view_contact(viewer(ana), ben)
    services.resolve(incident, actor=SYSTEM, at=T0 + timedelta(minutes=7))
    assert not can_view_contact(viewer(ana), ben)
    assert not can_view_contact(viewer(ben), ana)


def test_a_paged_person_sees_the_assignee_and_the_assignee_sees_them(paging):
    incident, ana, _, _, dana = paging
    assert not can_view_contact(viewer(ana), dana)
    services.reassign(incident, dana, actor=SYSTEM, at=T0 + timedelta(minutes=6))
    assert can_view_contact(viewer(ana), dana).incident == incident.reference
    assert can_view_contact(viewer(dana), ana)


def test_added_responders_are_in_the_circle(paging):
    incident, ana, _, chen, _ = paging
    services.add_responders(incident, [chen], actor=SYSTEM, at=T0 + timedelta(minutes=6))
    assert can_view_contact(viewer(chen), ana) and can_view_contact(viewer(ana), chen)


def test_a_person_not_yet_paged_is_not_yet_visible(paging, service, staff):
    """Only who the incident has paged so far: the later tiers stay private until they are reached."""
    _, ana, _, _, _ = paging
    erin, finn = staff("Erin"), staff("Finn")
    policy = escalation.create_policy("Refunds", {"tiers": [
        {"delay_minutes": 30, "targets": [{"type": "person", "id": erin.pk}]},
        {"delay_minutes": 30, "targets": [{"type": "person", "id": finn.pk}]},
    ]}, actor=SYSTEM)
    escalation.link_service(service, policy, actor=SYSTEM)
    services.trigger_incident(service, "Refunds stuck", actor=SYSTEM, at=T0)
    run_engine(T0 + timedelta(minutes=5))
    assert not can_view_contact(viewer(erin), finn)
    assert not can_view_contact(viewer(erin), ana)  # a responder of another incident


def test_two_incidents_do_not_mix(paging, service, staff):
    first, ana, ben, chen, dana = paging
    second = services.trigger_incident(service, "Payouts failing", actor=SYSTEM, at=T0)
    services.reassign(second, chen, actor=SYSTEM, at=T0 + timedelta(minutes=1))
    services.add_responders(second, [dana], actor=SYSTEM, at=T0 + timedelta(minutes=1))
    assert can_view_contact(viewer(chen), dana).incident == second.reference
    assert not can_view_contact(viewer(chen), ben)
    # Ana is paged by both (tier 1 of each): she sees both circles, each through its own incident
    run_engine(T0 + timedelta(minutes=1))
    assert can_view_contact(viewer(ana), ben).incident == first.reference
    assert can_view_contact(viewer(ana), chen).incident == second.reference
    services.resolve(second, actor=SYSTEM, at=T0 + timedelta(minutes=2))
    assert not can_view_contact(viewer(ana), chen) and can_view_contact(viewer(ana), ben)


def test_the_reveal_is_audited_with_the_incident(paging):
    incident, ana, ben, chen, _ = paging
    method = ben.methods.get()
    assert reveal(viewer(ana), method) == "+491705550100"
    entry = AuditEntry.objects.filter(action="contact.revealed").latest("seq")
    assert entry.summary["basis"] == "incident" and entry.summary["incident"] == incident.reference
    assert reveal(viewer(chen), method) is None
    assert AuditEntry.objects.filter(action="contact.reveal_denied").exists()


def test_a_signed_in_user_without_a_person_has_no_incident_need(paging, make_user):
    _, ana, _, _, _ = paging
    assert not can_view_contact(Principal.load(make_user("stranger", roles=["responder"])), ana)
