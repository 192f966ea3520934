"""Incident use cases: numbers, status transitions, refused input, the audit log for people (not
for the engine) and a timeline entry for every action."""

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.incidents import services
from tocsin.incidents.models import Incident, IncidentCounter, Responder, TimelineEntry
from tocsin.incidents.services.engine_entries import ENGINE

SYSTEM = audit.Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def minutes(n):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def service(make_team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Checkout", kind="technical",
                                  owner_team=make_team("Shop"), tier=2)


@pytest.fixture
def human(make_user):
    return audit.Actor.user(make_user("hana", roles=["responder"]))


@pytest.fixture
def open_incident(service):
    def make(title="Checkout returns 502", actor=SYSTEM, **fields):
        return services.trigger_incident(service, title, actor=actor, at=fields.pop("at", T0), **fields)

    return make


def audited(incident):
    return list(AuditEntry.objects.filter(object_type="incidents.incident", object_id=str(incident.pk))
                .order_by("seq").values_list("action", flat=True))


# --- numbers ----------------------------------------------------------------------------------------

def test_numbers_are_sequential_unique_and_short(open_incident):
    opened = [open_incident(title=f"Outage {n}") for n in range(5)]
    numbers = [incident.number for incident in opened]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert opened[2].reference == f"#{numbers[2]}" and str(opened[2]).startswith(f"#{numbers[2]} ")
    assert IncidentCounter.objects.get().value == numbers[-1]


def test_refused_input_leaves_no_trace_and_no_gap_in_numbers(open_incident, service):
    first = open_incident()
    with pytest.raises(ValidationError) as refused:
        services.trigger_incident(service, "   ", actor=SYSTEM)
    assert "title" in refused.value.message_dict
    second = open_incident(title="Checkout slow")
    assert second.number == first.number + 1
    assert Incident.objects.count() == 2


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": ""}, "title"),
    ({"title": " \n "}, "title"),
    ({"title": "x" * 256}, "title"),
    ({"details": "x" * 20_001}, "details"),
    ({"urgency": "critical"}, "urgency"),
    ({"urgency": None}, "urgency"),
])
def test_bad_trigger_input_names_the_field(service, fields, field):
    arguments = {"title": "Checkout returns 502", **fields}
    with pytest.raises(ValidationError) as refused:
        services.trigger_incident(service, arguments.pop("title"), actor=SYSTEM, **arguments)
    assert list(refused.value.message_dict) == [field]
    assert not Incident.objects.exists() and not TimelineEntry.objects.exists()


# --- status -------------------------------------------------------------------------------------------

def test_status_moves_and_stamps_each_step(open_incident):
    incident = open_incident()
    assert incident.status == Incident.TRIGGERED and incident.created_at == T0
    incident, changed = services.acknowledge(incident, actor=SYSTEM, via="sms", at=minutes(2))
    assert changed and incident.status == Incident.ACKNOWLEDGED and incident.acknowledged_at == minutes(2)
    incident, changed = services.acknowledge(incident, actor=SYSTEM, at=minutes(3))
    assert not changed and incident.acknowledged_at == minutes(2)  # the first acknowledgement counts
    incident = services.unacknowledge(incident, actor=SYSTEM, at=minutes(4))
    assert incident.status == Incident.TRIGGERED and incident.acknowledged_at is None
    incident = services.snooze(incident, 30, actor=SYSTEM, at=minutes(5))
    assert incident.status == Incident.ACKNOWLEDGED and incident.snoozed_until == minutes(35)
    incident, changed = services.resolve(incident, actor=SYSTEM, at=minutes(6))
    assert changed and incident.status == Incident.RESOLVED and incident.resolved_at == minutes(6)
    assert incident.snoozed_until is None
    incident, changed = services.resolve(incident, actor=SYSTEM, at=minutes(7))
    assert not changed and Incident.objects.get(pk=incident.pk).resolved_at == minutes(6)


def test_unacknowledging_a_triggered_incident_is_refused(open_incident):
    with pytest.raises(ValidationError) as refused:
        services.unacknowledge(open_incident(), actor=SYSTEM)
    assert "status" in refused.value.message_dict


def test_a_resolved_incident_refuses_every_further_action(open_incident, person):
    ana = person("Ana")
    incident, _ = services.resolve(open_incident(), actor=SYSTEM, at=minutes(1))
    entries = incident.timeline.count()
    actions = [
        lambda: services.acknowledge(incident, actor=SYSTEM),
        lambda: services.unacknowledge(incident, actor=SYSTEM),
        lambda: services.snooze(incident, 10, actor=SYSTEM),
        lambda: services.reassign(incident, ana, actor=SYSTEM),
        lambda: services.add_responders(incident, [ana], actor=SYSTEM),
        lambda: services.escalate_now(incident, actor=SYSTEM),
    ]
    for action in actions:
        with pytest.raises(ValidationError) as refused:
            action()
        assert "is resolved" in refused.value.message_dict["status"][0]
    assert incident.timeline.count() == entries
    assert Incident.objects.get(pk=incident.pk).assigned_to is None


@pytest.mark.parametrize("minutes_given", [0, -5, 7 * 24 * 60 + 1, "30", 2.5, True, None])
def test_snooze_needs_a_sensible_number_of_minutes(open_incident, minutes_given):
    incident = open_incident()
    with pytest.raises(ValidationError) as refused:
        services.snooze(incident, minutes_given, actor=SYSTEM)
    assert list(refused.value.message_dict) == ["minutes"]
    assert Incident.objects.get(pk=incident.pk).status == Incident.TRIGGERED


def test_bad_input_for_the_other_actions_names_the_field(open_incident, person, service):
    incident = open_incident()
    gone = person("Gone")
    directory.deactivate_person(gone, actor=SYSTEM)
    cases = [
        (lambda: services.reassign(incident, gone, actor=SYSTEM), "person"),
        (lambda: services.reassign(incident, "Ana", actor=SYSTEM), "person"),
        (lambda: services.add_responders(incident, [], actor=SYSTEM), "targets"),
        (lambda: services.add_responders(incident, [service], actor=SYSTEM), "targets"),
        (lambda: services.add_responders(incident, [gone], actor=SYSTEM), "targets"),
        (lambda: services.add_responders(incident, [person("Ana")] * 51, actor=SYSTEM), "targets"),
        (lambda: services.add_responders(incident, [person("Ben")], actor=SYSTEM, message="x" * 1001), "message"),
        (lambda: services.add_note(incident, "  ", actor=SYSTEM), "text"),
        (lambda: services.add_note(incident, "x" * 20_001, actor=SYSTEM), "text"),
        (lambda: services.resolve(incident, actor=SYSTEM, note="x" * 20_001), "note"),
    ]
    for action, field in cases:
        with pytest.raises(ValidationError) as refused:
            action()
        assert list(refused.value.message_dict) == [field]
    assert list(incident.timeline.values_list("kind", flat=True)) == [TimelineEntry.CREATED]
    assert Incident.objects.get(pk=incident.pk).status == Incident.TRIGGERED


# --- any order of actions -------------------------------------------------------------------------------

ACTIONS = ["acknowledge", "unacknowledge", "snooze", "resolve", "reassign", "note", "escalate_now"]


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(ACTIONS), max_size=8))
def test_any_sequence_of_actions_follows_the_status_rules(actions, open_incident, person):
    with rolled_back():
        ana = person("Ana")
        incident = open_incident()
        status, assigned = Incident.TRIGGERED, False
        for minute, action in enumerate(actions, start=1):
            allowed = {
                "acknowledge": status != Incident.RESOLVED,
                "unacknowledge": status == Incident.ACKNOWLEDGED,
                "snooze": status != Incident.RESOLVED,
                "resolve": True,
                "reassign": status != Incident.RESOLVED,
                "note": True,  # notes are welcome after the end too (the review)
                "escalate_now": status != Incident.RESOLVED,
            }[action]
            entries = incident.timeline.count()
            call = {
                "acknowledge": lambda: services.acknowledge(incident, actor=SYSTEM, at=minutes(minute)),
                "unacknowledge": lambda: services.unacknowledge(incident, actor=SYSTEM, at=minutes(minute)),
                "snooze": lambda: services.snooze(incident, 10, actor=SYSTEM, at=minutes(minute)),
                "resolve": lambda: services.resolve(incident, actor=SYSTEM, at=minutes(minute)),
                "reassign": lambda: services.reassign(incident, ana, actor=SYSTEM, at=minutes(minute)),
                "note": lambda: services.add_note(incident, "Looking at the load balancer", actor=SYSTEM,
                                                  at=minutes(minute)),
                "escalate_now": lambda: services.escalate_now(incident, actor=SYSTEM, at=minutes(minute)),
            }[action]
            if not allowed:
                with pytest.raises(ValidationError):
                    call()
                assert incident.timeline.count() == entries
                continue
            was = status
            was_acked = was == Incident.ACKNOWLEDGED
            call()
            status = {"acknowledge": Incident.ACKNOWLEDGED if was != Incident.RESOLVED else was,
                      "unacknowledge": Incident.TRIGGERED, "snooze": Incident.ACKNOWLEDGED,
                      "resolve": Incident.RESOLVED, "escalate_now": Incident.TRIGGERED}.get(action, was)
            current = Incident.objects.get(pk=incident.pk)
            assert current.status == status
            if status != Incident.RESOLVED:  # a resolved incident keeps the stamps of its steps
                assert (current.acknowledged_at is not None) == (status == Incident.ACKNOWLEDGED)
            assert (current.resolved_at is not None) == (status == Incident.RESOLVED)
            assert current.snoozed_until is None or status == Incident.ACKNOWLEDGED
            # every action that changes something says so on the timeline; a repeat changes nothing
            repeated = ((action == "acknowledge" and was == Incident.ACKNOWLEDGED)
                        or (action == "resolve" and was == Incident.RESOLVED)
                        or (action == "reassign" and assigned))
            assert incident.timeline.count() == entries + (0 if repeated else 1 + (action == "snooze" and not was_acked))
            assigned = assigned or action == "reassign"


# --- the audit log and the timeline ------------------------------------------------------------------

def test_every_human_action_is_audited_and_on_the_timeline(open_incident, person, human):
    ana, ben = person("Ana"), person("Ben")
    incident = open_incident(actor=human)
    services.acknowledge(incident, actor=human, via="web", at=minutes(1))
    services.unacknowledge(incident, actor=human, reason="still failing", at=minutes(2))
    services.snooze(incident, 15, actor=human, at=minutes(3))
    services.escalate_now(incident, actor=human, at=minutes(4))
    services.reassign(incident, ana, actor=human, at=minutes(5))
    services.add_responders(incident, [ben], actor=human, message="Need the DBA", at=minutes(6))
    services.add_note(incident, "Rolled back release 4.2", actor=human, at=minutes(7))
    services.resolve(incident, actor=human, note="Fixed by the rollback", at=minutes(8))
    assert audited(incident) == [
        "incident.trigger", "incident.acknowledge", "incident.unacknowledge", "incident.acknowledge",
        "incident.snooze", "incident.escalate_now", "incident.reassign", "incident.add_responders",
        "incident.note", "incident.resolve"]
    mine = incident.timeline.filter(actor_type="user").order_by("at", "pk")
    assert [(e.kind, e.at) for e in mine] == [
        ("created", T0), ("acknowledged", minutes(1)), ("unacknowledged", minutes(2)),
        ("acknowledged", minutes(3)), ("snoozed", minutes(3)), ("escalated", minutes(4)),
        ("reassigned", minutes(5)), ("responders", minutes(6)), ("note", minutes(7)), ("resolved", minutes(8))]
    assert all(e.actor_label == "hana" for e in mine)
    assert "hana" in mine.get(kind="escalated").message
    assert "Need the DBA" in mine.get(kind="responders").message
    assert "Fixed by the rollback" in mine.get(kind="resolved").message


def test_escalating_records_how_it_was_asked_for(open_incident, human):
    incident = open_incident(actor=human)
    services.escalate_now(incident, actor=human, at=minutes(1))
    services.acknowledge(incident, actor=human, via="web", at=minutes(2))
    services.escalate_now(incident, actor=human, via="sms", at=minutes(3))
    entries = list(incident.timeline.filter(kind=TimelineEntry.ESCALATED).order_by("at"))
    assert [e.message for e in entries] == ["Escalated to the next tier by hana via web.",
                                            "Escalated to the next tier by hana via sms; no longer acknowledged."]
    assert [e.data["via"] for e in entries] == ["web", "sms"]
    summaries = AuditEntry.objects.filter(action="incident.escalate_now", object_id=str(incident.pk)).order_by("seq")
    assert [a.summary["via"] for a in summaries] == ["web", "sms"]


def test_engine_and_system_actions_are_on_the_timeline_but_not_audited(open_incident, person):
    ana = person("Ana")
    incident = open_incident(actor=ENGINE)
    services.acknowledge(incident, actor=SYSTEM, at=minutes(1))
    services.unacknowledge(incident, actor=ENGINE, reason="ack timeout", at=minutes(2))
    services.record_entry(incident, TimelineEntry.NOTIFIED, "SMS delivered to Ana", key="delivery:1", at=minutes(3))
    services.record_entry(incident, TimelineEntry.NOTIFIED, "SMS delivered to Ana", key="delivery:1", at=minutes(4))
    services.add_paged([(incident.pk, ana.pk)], minutes(3))
    services.add_paged([(incident.pk, ana.pk)], minutes(4))
    services.flag_unpaged([incident.pk])
    services.record_entry(incident, TimelineEntry.UNPAGED, "Nobody acknowledged", key="unpaged:1", at=minutes(5))
    services.resolve(incident, actor=ENGINE, at=minutes(6))
    assert audited(incident) == []
    assert list(incident.timeline.order_by("at", "pk").values_list("kind", "actor_label")) == [
        ("created", "engine"), ("acknowledged", "test"), ("unacknowledged", "engine"), ("notified", "engine"),
        ("unpaged", "engine"), ("resolved", "engine")]
    assert Responder.objects.filter(incident=incident).count() == 1
    assert Incident.objects.get(pk=incident.pk).unpaged


def test_a_triggering_token_is_audited_like_a_person(open_incident):
    token_actor = audit.Actor("token", "7", "integration/alertmanager")
    incident = open_incident(actor=token_actor, source="api")
    assert audited(incident) == ["incident.trigger"]
    assert incident.timeline.get().actor_type == "token" and "(api)" in incident.timeline.get().message
