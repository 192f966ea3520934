"""Escalation against models computed here, with hypothesis choosing the policies and the moments
people act: tier ordering and delays, follow-ups, repeats, the fallback, ack and resolve stopping
everything, backups and empty tiers, and the fairness of round robin and least-loaded selection."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.directory import services as directory
from tocsin.engine.models import Job
from tocsin.escalation.models import Escalation, NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, TimelineEntry

from .conftest import SYSTEM, T0, Clock, tier

# Fixtures are made once per test; each example runs in a savepoint that is rolled back.
examples = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
HALF_MINUTE = timedelta(seconds=30)  # people act between the engine's whole minutes, never at the same instant


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def minutes(n):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def root(person, make_user):
    """The installation's final fallback: the administrators' people."""
    return person("Root", user=make_user("root", roles=["admin"]))


def requests_of(incident):
    rows = NotificationRequest.objects.filter(incident=incident).select_related("person").order_by("created_at", "pk")
    return [(r.person.name, r.reason, r.tier, r.cycle, r.follow_up, r.created_at) for r in rows]


def engine_entries(incident, *kinds):
    rows = TimelineEntry.objects.filter(incident=incident, key__isnull=False, kind__in=kinds).order_by("at", "pk")
    return [(e.kind, e.data.get("tier"), e.data.get("cycle"), e.data.get("follow_up"), e.at) for e in rows]


def pending_escalation_jobs(incident):
    escalation = Escalation.objects.get(incident=incident)
    return Job.objects.filter(state=Job.PENDING, kind__startswith="escalation",
                              payload__escalation=escalation.pk).count()


# --- the timing model ------------------------------------------------------------------------

def planned_pages(delays, follow_up, repeat):
    """[(minute, reason, tier, cycle, follow-up)]: tier i of cycle c starts when the windows before
    it have ended; follow-ups every `follow_up` minutes strictly inside its window; the fallback
    when the last window of the last repeat ends."""
    pages, start = [], 0
    for cycle in range(repeat + 1):
        for index, delay in enumerate(delays):
            pages.append((start, "page", index, cycle, 0))
            k = 1
            while follow_up and k * follow_up < delay:
                pages.append((start + k * follow_up, "follow_up", index, cycle, k))
                k += 1
            start += delay
    pages.append((start, "fallback", None, None, 0))
    return pages


@st.composite
def timing_scenarios(draw):
    delays = draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))
    follow_up = draw(st.integers(0, 30))
    repeat = draw(st.integers(0, 2))
    total = sum(delays) * (repeat + 1)
    action = draw(st.sampled_from(["none", "acknowledge", "resolve"]))
    minute = None if action == "none" else draw(st.integers(0, total + 5))
    return delays, follow_up, repeat, action, minute


def test_the_model_itself():
    assert planned_pages((30, 10), 15, 0) == [
        (0, "page", 0, 0, 0), (15, "follow_up", 0, 0, 1), (30, "page", 1, 0, 0), (40, "fallback", None, None, 0)]
    # a follow-up falling on the end of the window is not inside it
    assert planned_pages((10,), 5, 1) == [
        (0, "page", 0, 0, 0), (5, "follow_up", 0, 0, 1), (10, "page", 0, 1, 0), (15, "follow_up", 0, 1, 1),
        (20, "fallback", None, None, 0)]


@examples
@given(scenario=timing_scenarios())
def test_pages_follow_the_tiers_delays_follow_ups_and_repeats(scenario, person, policy, trigger, root):
    delays, follow_up, repeat, action, minute = scenario
    with rolled_back():
        people = [person(f"Tier {index + 1}") for index in range(len(delays))]
        policy(*[tier(p, delay=d) for p, d in zip(people, delays)], follow_up_minutes=follow_up, repeat=repeat)
        incident = trigger()
        clock = Clock()
        plan = planned_pages(delays, follow_up, repeat)
        if action != "none":
            acted_at = minutes(minute) + HALF_MINUTE
            clock.run_until(acted_at)
            if action == "acknowledge":
                incidents.acknowledge(incident, actor=SYSTEM, at=acted_at)
            else:
                incidents.resolve(incident, actor=SYSTEM, at=acted_at)
            plan = [page for page in plan if page[0] <= minute]
        clock.run_until(minutes(plan[-1][0] + sum(delays) * (repeat + 2) + 60))

        names = [p.name for p in people]
        expected = [(names[t] if t is not None else "Root", reason, t, c, k, minutes(at)) for at, reason, t, c, k in plan]
        # The same pages, in the same order, each exactly at its due time: never early, never late.
        assert requests_of(incident) == expected
        # Each page and follow-up is on the timeline at that moment.
        assert engine_entries(incident, TimelineEntry.ESCALATED, TimelineEntry.FOLLOW_UP) == [
            ("escalated" if reason == "page" else "follow_up", t, c, k, minutes(at))
            for at, reason, t, c, k in plan if reason != "fallback"]
        incident.refresh_from_db()
        escalation = Escalation.objects.get(incident=incident)
        if action == "none" or plan[-1][1] == "fallback":
            assert incident.unpaged and escalation.state != Escalation.RUNNING
        else:
            assert not incident.unpaged
        if action != "none":
            assert escalation.state == (Escalation.PAUSED if action == "acknowledge" else Escalation.STOPPED)
            assert pending_escalation_jobs(incident) == 0


# --- who a tier reaches: backups, deactivated people, roles without holders ------------------

TARGETS = ["p0", "p1", "p2", "p3", "role"]


@st.composite
def reach_scenarios(draw):
    subset = st.lists(st.sampled_from(TARGETS), unique=True, max_size=3)
    tiers = draw(st.lists(st.fixed_dictionaries({
        "targets": subset.filter(bool), "backup": subset, "delay": st.integers(1, 10)}), min_size=1, max_size=4))
    return {
        "tiers": tiers,
        "repeat": draw(st.integers(0, 2)),
        "fallback": draw(st.lists(st.sampled_from(TARGETS[:4]), unique=True, max_size=2)),
        "deactivated": draw(st.sets(st.sampled_from(TARGETS[:4]))),
        "holder": draw(st.sampled_from([None, *TARGETS[:4]])),
        "admin": draw(st.booleans()),
        "acknowledged_at": draw(st.none() | st.integers(0, 40)),
    }


def reached(names, active, holder):
    """Whom a list of targets reaches: active people, the role to its active holder."""
    found = []
    for name in names:
        who = holder if name == "role" else name
        if who is not None and who in active and who not in found:
            found.append(who)
    return found


def planned_reach(scenario, active):
    """[(minute, person, reason, tier, cycle)] and the (tier, cycle) that reached nobody."""
    pages, empty, start = [], [], 0
    holder = scenario["holder"]
    for cycle in range(scenario["repeat"] + 1):
        for index, spec in enumerate(scenario["tiers"]):
            people = reached(spec["targets"], active, holder) or reached(spec["backup"], active, holder)
            if not people:
                empty.append((index, cycle, start))  # advances at once
                continue
            pages += [(start, who, "page", index, cycle) for who in people]
            start += spec["delay"]
    fallback = reached(scenario["fallback"], active, None) or (["root"] if scenario["admin"] else [])
    pages += [(start, who, "fallback", None, None) for who in fallback]
    return pages, empty, start


@examples
@given(scenario=reach_scenarios())
def test_no_incident_ends_paging_nobody_silently(scenario, person, policy, trigger, make_user):
    with rolled_back():
        people = {name: person(name) for name in TARGETS[:4]}
        if scenario["admin"]:
            people["root"] = person("root", user=make_user(roles=["admin"]))
        role = directory.create_role(actor=SYSTEM, name="Duty manager")
        if scenario["holder"]:
            directory.assign_holder(role, people[scenario["holder"]], actor=SYSTEM, starts_at=T0 - timedelta(days=1))

        def targets(names):
            return [{"type": "role", "id": role.pk} if n == "role" else {"type": "person", "id": people[n].pk}
                    for n in names]

        policy(*[{"delay_minutes": t["delay"], "targets": targets(t["targets"]), "backup": targets(t["backup"])}
                 for t in scenario["tiers"]],
               repeat=scenario["repeat"], follow_up_minutes=0, fallback=targets(scenario["fallback"]))
        # Valid when saved; people leave afterwards, so tiers resolve to nobody at run time.
        for name in scenario["deactivated"]:
            directory.deactivate_person(people[name], actor=SYSTEM, at=T0 - timedelta(hours=1))
        active = {name for name in people if name not in scenario["deactivated"]}
        incident = trigger()
        clock = Clock()
        pages, empty, fallback_at = planned_reach(scenario, active)
        acked = scenario["acknowledged_at"]
        if acked is not None:
            clock.run_until(minutes(acked) + HALF_MINUTE)
            incidents.acknowledge(incident, actor=SYSTEM, at=minutes(acked) + HALF_MINUTE)
            pages = [page for page in pages if page[0] <= acked]
            empty = [e for e in empty if e[2] <= acked]
        clock.run_until(minutes(fallback_at + 60))

        got = NotificationRequest.objects.filter(incident=incident).select_related("person")
        assert sorted((r.created_at, r.person.name, r.reason, r.tier, r.cycle) for r in got) == sorted(
            (minutes(at), who, reason, t, c) for at, who, reason, t, c in pages)
        assert all(r.person.is_active for r in got)
        # A tier that reached nobody, backup included, says so on the timeline and moves on at once.
        nobody = incident.timeline.filter(kind=TimelineEntry.ESCALATED, message__contains="reached nobody")
        assert sorted((e.data["tier"], e.data["cycle"], e.at) for e in nobody) == sorted(
            (t, c, minutes(at)) for t, c, at in empty)

        incident.refresh_from_db()
        unpaged = list(incident.timeline.filter(kind=TimelineEntry.UNPAGED))
        if acked is not None and acked < fallback_at:
            assert incident.status == Incident.ACKNOWLEDGED and not incident.unpaged and not unpaged
        else:
            # Nobody acknowledged: the end of the escalation is loud, whoever it reached.
            assert incident.unpaged and len(unpaged) == 1 and unpaged[0].at == minutes(fallback_at)
            assert Escalation.objects.get(incident=incident).state == (
                Escalation.EXHAUSTED if acked is None else Escalation.PAUSED)  # acknowledged after the fallback
            if not any(reason == "fallback" for _, _, reason, _, _ in pages):
                assert "Nobody could be paged" in unpaged[0].message
        assert pending_escalation_jobs(incident) == 0


# --- selection among the people a tier reaches ------------------------------------------------

@examples
@given(team_size=st.integers(1, 5), incident_count=st.integers(1, 12))
def test_round_robin_shares_incidents_evenly(team_size, incident_count, person, policy, trigger):
    with rolled_back():
        team = [person(f"Agent {n}") for n in range(team_size)]
        policy(tier(*team, selection="round_robin"))
        opened = [trigger(title=f"Queue stuck {n}") for n in range(incident_count)]
        Clock().at(T0)
        first = [NotificationRequest.objects.get(incident=incident, tier=0).person for incident in opened]
        counts = [first.count(agent) for agent in team]
        assert sum(counts) == incident_count and max(counts) - min(counts) <= 1
        # Turns go round in a fixed order: the n-th incident goes to the (n mod k)-th person.
        assert first == [sorted(team, key=lambda p: p.pk)[n % team_size] for n in range(incident_count)]


@examples
@given(loads=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=4))
def test_least_loaded_pages_whoever_has_fewest_open_incidents(loads, person, policy, trigger, service, make_team):
    """`loads`: per person, (open incidents assigned, resolved incidents assigned); resolved ones
    are not load."""
    from tocsin.catalog import services as catalog

    with rolled_back():
        team = [person(f"Engineer {n}") for n in range(len(loads))]
        elsewhere = catalog.create_service(actor=SYSTEM, source="cli", name="Ledger", kind="technical",
                                           owner_team=make_team("Finance"), tier=3)
        for engineer, (open_count, resolved_count) in zip(team, loads):
            for n in range(open_count + resolved_count):
                other = incidents.trigger_incident(elsewhere, f"Ledger drift {n}", actor=SYSTEM, at=T0)
                Incident.objects.filter(pk=other.pk).update(assigned_to=engineer)
                if n >= open_count:
                    incidents.resolve(other, actor=SYSTEM, at=T0)
        policy(tier(*team, selection="least_loaded"))
        incident = trigger()
        Clock().at(T0)
        chosen = NotificationRequest.objects.get(incident=incident, tier=0).person
        fewest = min(open_count for open_count, _ in loads)
        # the least loaded, the first in the tier's order among equals
        assert chosen == team[[open_count for open_count, _ in loads].index(fewest)]
