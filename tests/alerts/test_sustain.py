"""Sustained-degradation triggers (E5): N times in M minutes, open for X minutes, and the
alert-rate baseline, all driven by explicit clocks."""

from datetime import UTC, datetime, timedelta

from tocsin.alerts import processing
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, ServiceAlertSettings
from tocsin.alerts.stages.sustain import rate_per_minute
from tocsin.alerts.store import store_events
from tocsin.engine.models import Job
from tocsin.engine.worker import Engine
from tocsin.incidents.models import Incident

T0 = datetime(2026, 5, 4, 12, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def send(service, dedup_key, at, action="trigger", times=1):
    store_events([Event(action=action, dedup_key=dedup_key, summary=f"{dedup_key} is degraded",
                        service_id=service.pk)] * times, at)
    while processing.process(at):
        pass
    return Alert.objects.filter(service=service, dedup_key=dedup_key).order_by("-id").first()


def configure(service, **fields):
    return ServiceAlertSettings.objects.create(service=service, **fields)


def run_engine(now):
    Engine(name="sustain-test").run_due(now)


def pending_rechecks():
    return list(Job.objects.filter(kind="alerts.recheck", state=Job.PENDING).values_list("due_at", flat=True))


def test_without_triggers_the_first_alert_pages_at_once(service):
    assert send(service, "cpu", T0).handling == Alert.PAGED


def test_n_times_within_m_minutes_pages_on_the_nth_firing(service):
    configure(service, min_occurrences=3, occurrence_window_minutes=10)
    first = send(service, "cpu", T0)
    assert (first.handling, first.reason) == (Alert.HELD, "held: fired 1 of 3 times within 10 minutes")
    assert pending_rechecks() == []  # only a new firing can change the count
    assert send(service, "cpu", T0 + 4 * MINUTE).reason == "held: fired 2 of 3 times within 10 minutes"
    paged = send(service, "cpu", T0 + 10 * MINUTE)  # exactly M minutes after the first: still within
    assert (paged.pk, paged.handling, paged.occurrences) == (first.pk, Alert.PAGED, 3)
    assert Incident.objects.get().alerts.get() == paged


def test_firings_older_than_the_window_stop_counting(service):
    configure(service, min_occurrences=3, occurrence_window_minutes=10)
    send(service, "cpu", T0)
    send(service, "cpu", T0 + 6 * MINUTE)
    held = send(service, "cpu", T0 + 12 * MINUTE)
    assert (held.handling, held.reason) == (Alert.HELD, "held: fired 2 of 3 times within 10 minutes")
    assert held.sustain["seen"] == 3 and len(held.sustain["firings"]) == 2  # the first one is forgotten
    assert send(service, "cpu", T0 + 13 * MINUTE).handling == Alert.PAGED


def test_repeats_arriving_together_count_together(service):
    configure(service, min_occurrences=3, occurrence_window_minutes=5)
    alert = send(service, "cpu", T0, times=3)
    assert (alert.occurrences, alert.handling) == (3, Alert.PAGED)


def test_an_alert_resolved_before_its_nth_firing_never_pages(service):
    configure(service, min_occurrences=2, occurrence_window_minutes=10)
    send(service, "cpu", T0)
    resolved = send(service, "cpu", T0 + MINUTE, action="resolve")
    again = send(service, "cpu", T0 + 20 * MINUTE)  # a new alert: its count starts afresh
    assert (resolved.status, resolved.handling) == (Alert.RESOLVED, Alert.HELD)
    assert again.pk != resolved.pk and again.handling == Alert.HELD
    assert not Incident.objects.exists()


def test_open_for_x_minutes_holds_then_pages_if_still_open(service):
    configure(service, open_for_minutes=15)
    held = send(service, "cpu", T0)
    assert (held.handling, held.reason) == (Alert.HELD, "held: open less than 15 minutes")
    assert pending_rechecks() == [T0 + 15 * MINUTE]
    run_engine(T0 + 15 * MINUTE - timedelta(seconds=1))
    assert not Incident.objects.exists()
    run_engine(T0 + 15 * MINUTE)
    held.refresh_from_db()
    assert held.handling == Alert.PAGED and held.incident is not None


def test_an_alert_resolved_before_x_minutes_never_pages(service):
    configure(service, open_for_minutes=15)
    send(service, "cpu", T0)
    send(service, "cpu", T0 + 5 * MINUTE, action="resolve")
    run_engine(T0 + 15 * MINUTE)
    assert not Incident.objects.exists()
    assert Alert.objects.get().handling == Alert.HELD


def test_any_trigger_met_is_enough(service):
    configure(service, min_occurrences=5, occurrence_window_minutes=10, open_for_minutes=15)
    held = send(service, "cpu", T0)
    assert held.reason == "held: fired 1 of 5 times within 10 minutes; open less than 15 minutes"
    run_engine(T0 + 15 * MINUTE)
    held.refresh_from_db()
    assert held.handling == Alert.PAGED
    noisy = send(service, "disk", T0 + 20 * MINUTE, times=5)
    assert noisy.handling == Alert.PAGED


def background(service, per_minute, until):
    """Earlier alerts on the service: per_minute[i] new ones in each minute before `until`'s."""
    minute = until.replace(second=0, microsecond=0) - len(per_minute) * MINUTE
    for index, count in enumerate(per_minute):
        for n in range(count):
            at = minute + index * MINUTE + timedelta(seconds=n)
            Alert.objects.create(service=service, dedup_key=f"background-{index}-{n}", summary="background",
                                 status=Alert.RESOLVED, first_seen=at, last_seen=at, dirty=False)


def test_the_rate_is_counted_per_minute(service):
    background(service, [1, 0, 3], T0)
    Alert.objects.create(service=service, dedup_key="now", summary="now", first_seen=T0, last_seen=T0, dirty=False)
    assert rate_per_minute(service.pk, T0, 5) == (1, [0, 0, 1, 0, 3])


def test_a_rate_above_the_baseline_pages_and_a_normal_one_is_held(service):
    configure(service, baseline_deviations=2, baseline_window_minutes=10)
    background(service, [1, 3] * 5, T0)  # mean 2, deviation 1: more than 4 a minute is unusual
    alerts = [send(service, f"node-{n}", T0 + timedelta(seconds=n)) for n in range(5)]
    assert [a.handling for a in alerts] == [Alert.HELD] * 4 + [Alert.PAGED]
    assert alerts[3].reason == "held: 4 new alerts this minute, not above the baseline 2.0 + 2σ"
    assert sorted(set(pending_rechecks())) == [T0 + MINUTE + timedelta(seconds=n) for n in range(4)]


def test_a_held_alert_is_rechecked_each_minute_and_pages_after_one_window(service):
    configure(service, baseline_deviations=2, baseline_window_minutes=5)
    background(service, [2] * 5, T0)
    held = send(service, "cpu", T0)
    assert held.handling == Alert.HELD
    rechecks = 0
    at = T0
    while held.handling == Alert.HELD:
        [at] = pending_rechecks()
        run_engine(at)
        rechecks += 1
        held.refresh_from_db()
    assert at == T0 + 5 * MINUTE and rechecks == 5
    assert held.handling == Alert.PAGED


def test_on_a_quiet_service_the_first_alert_is_above_the_baseline(service):
    configure(service, baseline_deviations=3, baseline_window_minutes=60)
    assert send(service, "cpu", T0).handling == Alert.PAGED
