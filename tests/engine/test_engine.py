"""The engine: never early, retried with backoff, dead letters, leases, periodic jobs, cancellation."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import transaction

from tocsin.core import audit
from tocsin.engine import health, queue, runner
from tocsin.engine.models import Job
from tocsin.engine.registry import handler
from tocsin.engine.worker import Engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ran = []


@handler("test.record")
def record(payload, context):
    ran.append((payload.get("n"), context.now, context.attempt))


@handler("test.fail", max_attempts=3)
def fail(payload, context):
    ran.append(("fail", context.attempt))
    raise RuntimeError("provider said no")


@pytest.fixture(autouse=True)
def fresh():
    ran.clear()
    yield
    ran.clear()


def test_a_job_never_runs_before_it_is_due(db):
    queue.schedule("test.record", due_at=T0 + timedelta(seconds=5), payload={"n": 1})
    engine = Engine(name="w1")
    assert engine.run_due(T0 + timedelta(seconds=4, microseconds=999_999)) == 0
    assert ran == []
    assert engine.run_due(T0 + timedelta(seconds=5)) == 1
    assert ran == [(1, T0 + timedelta(seconds=5), 1)]
    assert Job.objects.get().state == Job.DONE


def test_jobs_run_oldest_due_first(db):
    for n, seconds in ((1, 3), (2, 1), (3, 2)):
        queue.schedule("test.record", due_at=T0 + timedelta(seconds=seconds), payload={"n": n})
    Engine(name="w1").run_due(T0 + timedelta(seconds=10))
    assert [n for n, *_ in ran] == [2, 3, 1]


def test_a_pending_key_is_scheduled_once(db):
    for _ in range(3):
        queue.schedule("test.record", due_at=T0, payload={"n": 1}, key="once")
    assert Job.objects.filter(state=Job.PENDING).count() == 1
    Engine(name="w1").run_due(T0)
    queue.schedule("test.record", due_at=T0, payload={"n": 2}, key="once")  # the first is done: a new one
    assert Job.objects.filter(state=Job.PENDING).count() == 1


def test_unknown_kinds_are_refused_when_scheduled(db):
    with pytest.raises(LookupError, match="no-such-kind"):
        queue.schedule("no-such-kind")


def test_failures_back_off_then_become_dead_letters(db):
    queue.schedule("test.fail", due_at=T0)
    engine = Engine(name="w1")
    engine.run_due(T0)
    job = Job.objects.get()
    assert job.state == Job.PENDING and job.attempts == 1 and "provider said no" in job.last_error
    assert T0 + timedelta(seconds=1) <= job.due_at <= T0 + timedelta(seconds=2)  # 2 s with jitter
    assert engine.run_due(job.due_at - timedelta(microseconds=1)) == 0
    engine.run_due(job.due_at)
    job.refresh_from_db()
    assert job.attempts == 2 and job.due_at - T0 <= timedelta(seconds=6)
    engine.run_due(job.due_at)
    job.refresh_from_db()
    assert job.state == Job.DEAD and job.attempts == 3
    assert ran == [("fail", 1), ("fail", 2), ("fail", 3)]
    assert health.queue_state(T0 + timedelta(hours=1)).dead == 1
    assert queue.retry_dead([job.pk], actor=audit.Actor.system("test"), now=T0 + timedelta(hours=1)) == 1
    job.refresh_from_db()
    assert job.state == Job.PENDING and job.attempts == 0


def test_backoff_grows_and_is_capped():
    class Half:
        @staticmethod
        def random():
            return 1.0

    assert runner.backoff(1, Half) == timedelta(seconds=2)
    assert runner.backoff(4, Half) == timedelta(seconds=16)
    assert runner.backoff(40, Half) == runner.BACKOFF_CAP


def test_a_failing_job_does_not_undo_the_others_in_its_batch(db):
    queue.schedule("test.record", due_at=T0, payload={"n": 1})
    queue.schedule("test.fail", due_at=T0)
    queue.schedule("test.record", due_at=T0, payload={"n": 2})
    Engine(name="w1").run_due(T0)
    assert Job.objects.filter(state=Job.DONE).count() == 2
    assert Job.objects.get(kind="test.fail").attempts == 1


def test_an_expired_lease_lets_another_worker_retake_the_job(db):
    queue.schedule("test.record", due_at=T0, payload={"n": 1})
    lease = timedelta(seconds=30)
    claimed = runner.claim("dead-worker", T0, lease, 10)  # then the worker dies before running it
    assert len(claimed) == 1
    survivor = Engine(name="survivor", lease=lease)
    assert survivor.run_due(T0 + timedelta(seconds=29)) == 0  # still leased
    assert survivor.run_due(T0 + lease) == 1
    assert ran == [(1, T0 + lease, 2)]
    # The first worker wakes up and runs its stale claim: it does nothing.
    left, outcomes = runner.run_claimed(claimed, "dead-worker", T0 + timedelta(seconds=31))
    assert [outcome for _, outcome in outcomes] == ["lost"] and len(ran) == 1


def test_a_job_commits_its_effects_and_its_completion_together(db):
    from tocsin.core.models import RetentionRule

    @handler("test.write")
    def write(payload, context):
        RetentionRule.objects.create(record_type=f"effect-{context.attempt}", days=1)
        if context.attempt == 1:
            raise RuntimeError("crashed half-way")

    queue.schedule("test.write", due_at=T0)
    engine = Engine(name="w1")
    engine.run_due(T0)
    assert not RetentionRule.objects.exists()  # the half-done work went with the failure
    engine.run_due(T0 + timedelta(minutes=1))
    assert list(RetentionRule.objects.values_list("record_type", flat=True)) == ["effect-2"]
    assert Job.objects.get().state == Job.DONE


def test_cancelled_jobs_do_not_run(db):
    queue.schedule("test.record", due_at=T0, payload={"n": 1}, key="step:1")
    assert queue.cancel("step:1") == 1
    assert Engine(name="w1").run_due(T0 + timedelta(minutes=1)) == 0


def test_periodic_jobs_reschedule_themselves_without_catching_up(db):
    from tocsin.engine.registry import every

    every("test.record", timedelta(minutes=1))
    try:
        runner.ensure_periodic(T0)
        runner.ensure_periodic(T0)  # idempotent
        engine = Engine(name="w1")
        engine.run_due(T0)
        assert Job.objects.get(state=Job.PENDING, kind="test.record").due_at == T0 + timedelta(minutes=1)
        engine.run_due(T0 + timedelta(hours=5))  # after an outage: once, then a minute on
        assert len(ran) == 2
        assert Job.objects.get(state=Job.PENDING, kind="test.record").due_at == T0 + timedelta(hours=5, minutes=1)
    finally:
        from tocsin.engine import registry

        registry._periodic.pop("test.record")


def test_stopping_releases_claimed_jobs_not_started(db):
    for n in range(3):
        queue.schedule("test.record", due_at=T0, payload={"n": n})
    jobs = runner.claim("w1", T0, timedelta(seconds=30), 10)
    calls = iter([False, True, True])
    left, outcomes = runner.run_claimed(jobs, "w1", T0, stopping=lambda: next(calls))
    runner.release(left, "w1")
    assert len(outcomes) == 1 and len(left) == 2
    assert Job.objects.filter(state=Job.PENDING, claimed_by="", attempts=0).count() == 2


def test_queue_state_reports_lag_and_readiness(db):
    queue.schedule("test.record", due_at=T0)
    assert health.queue_state(T0 + timedelta(seconds=45)).lag_seconds == 45
    assert health.queue_state(T0 - timedelta(seconds=1)).due == 0


def test_readyz_is_unready_when_the_engine_lags(client, db):
    queue.schedule("test.record", due_at=datetime.now(timezone.utc) - timedelta(minutes=2))
    response = client.get("/readyz")
    assert response.status_code == 503 and "engine is lagging" in response.json()["problems"][0]
    Engine(name="w1").run_due()
    assert client.get("/readyz").status_code == 200


def test_metrics_show_queue_depth_lag_and_dead_letters(client, db):
    queue.schedule("test.record", due_at=datetime.now(timezone.utc) - timedelta(seconds=5))
    body = client.get("/metrics").content.decode()
    assert "tocsin_engine_jobs_due 1.0" in body
    assert "tocsin_engine_dead_letters 0.0" in body
    assert "tocsin_engine_lag_seconds" in body


def test_a_running_engine_is_woken_by_a_new_job(transactional_db):
    engine = Engine(name="live", watchdog_url="")
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,))
    thread.start()
    try:
        # The in-memory SQLite test database shares one cache between connections, where a
        # concurrent writer fails at once ("table is locked") instead of waiting: let the engine
        # finish its first round before this thread writes.
        assert engine.idle.wait(60), "the engine never went idle"
        done = threading.Event()

        @handler("test.signal")
        def signal(payload, context):
            done.set()

        with transaction.atomic():
            queue.schedule("test.signal")
        assert done.wait(60), "the engine did not run a job due now"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_many_handler_takes_every_claimed_job_of_its_kind_at_once(db):
    batches = []

    @handler("test.many", many=True)
    def many(items):
        batches.append(sorted(payload["n"] for payload, _ in items))

    for n in range(5):
        queue.schedule("test.many", due_at=T0, payload={"n": n})
    queue.schedule("test.record", due_at=T0, payload={"n": 99})
    Engine(name="w1").run_due(T0)
    assert batches == [[0, 1, 2, 3, 4]] and ran == [(99, T0, 1)]
    assert Job.objects.filter(state=Job.DONE).count() == 6


def test_a_failing_batch_is_run_again_one_by_one(db):
    seen = []

    @handler("test.fussy", many=True)
    def fussy(items):
        seen.append(len(items))
        if any(payload.get("bad") for payload, _ in items):
            raise RuntimeError("one bad job")

    for n in range(3):
        queue.schedule("test.fussy", due_at=T0, payload={"bad": n == 1})
    Engine(name="w1").run_due(T0)
    assert seen == [3, 1, 1, 1]
    assert Job.objects.filter(state=Job.DONE).count() == 2
    assert Job.objects.get(state=Job.PENDING).attempts == 1


def test_next_wake_is_the_earliest_due_job_or_the_end_of_a_lease(db):
    assert runner.next_wake(T0) is None
    queue.schedule("test.record", due_at=T0 + timedelta(minutes=5))
    queue.schedule("test.record", due_at=T0 - timedelta(minutes=1))
    runner.claim("w1", T0, timedelta(seconds=30), 1)  # the overdue one, leased for 30 s
    assert runner.next_wake(T0) == T0 + timedelta(seconds=30)
    assert runner.next_wake(T0 + timedelta(minutes=2)) == T0 - timedelta(minutes=1)  # lease ended: due again


def test_a_periodic_job_that_dies_still_keeps_its_period(db):
    from tocsin.engine import registry
    from tocsin.engine.registry import every

    dead = []

    def heard(sender, kind, **kwargs):
        dead.append(kind)

    from tocsin.engine.signals import job_dead

    job_dead.connect(heard)
    every("test.fail", timedelta(hours=1))
    try:
        Job.objects.create(kind="test.fail", key=runner.periodic_key("test.fail"), due_at=T0, max_attempts=1)
        Engine(name="w1").run_due(T0)
        assert Job.objects.get(kind="test.fail", state=Job.DEAD)
        assert Job.objects.get(kind="test.fail", state=Job.PENDING).due_at == T0 + timedelta(hours=1)
        assert dead == ["test.fail"]
    finally:
        registry._periodic.pop("test.fail")
        job_dead.disconnect(heard)


def test_a_coalescing_job_scheduled_while_it_runs_runs_once_more(db):
    """The key merges waiting runs only: work committed while a run is under way is never left
    without a run to see it."""
    runs = []

    @handler("test.coalesce", coalescing=True)
    def look(payload, context):
        runs.append(context.now)
        if len(runs) == 1:  # as if a writer committed new work while this run was going on
            queue.schedule("test.coalesce", due_at=context.now, key="look")

    queue.schedule("test.coalesce", due_at=T0, key="look")
    queue.schedule("test.coalesce", due_at=T0, key="look")  # merged: still waiting
    assert Job.objects.filter(kind="test.coalesce").count() == 1
    Engine(name="w1").run_due(T0)
    Engine(name="w1").run_due(T0)
    assert len(runs) == 2
    assert Job.objects.filter(kind="test.coalesce", state=Job.PENDING).count() == 0


def test_a_handler_outside_transactions_sends_without_holding_the_job_transaction(transactional_db):
    seen = []

    @handler("test.send", transactional=False)
    def send(payload, context):
        seen.append(transaction.get_connection().in_atomic_block)
        if payload.get("fail"):
            raise RuntimeError("receiver down")

    queue.schedule("test.send", due_at=T0)
    queue.schedule("test.send", due_at=T0, payload={"fail": True})
    Engine(name="w1").run_due(T0)
    assert seen == [False, False]
    assert Job.objects.filter(kind="test.send", state=Job.DONE).count() == 1
    failed = Job.objects.get(kind="test.send", state=Job.PENDING)
    assert failed.attempts == 1 and "receiver down" in failed.last_error and failed.due_at > T0


def test_many_and_outside_transactions_do_not_mix():
    with pytest.raises(ValueError):
        handler("test.bad", many=True, transactional=False)(lambda items: None)


def test_rescheduling_moves_the_waiting_job_and_replaces_one_being_run(db):
    queue.reschedule("test.record", key="check", due_at=T0, payload={"n": 1})
    queue.reschedule("test.record", key="check", due_at=T0 + timedelta(minutes=5), payload={"n": 2})
    job = Job.objects.get(key="check")
    assert (job.due_at, job.payload) == (T0 + timedelta(minutes=5), {"n": 2})
    Job.objects.filter(pk=job.pk).update(claimed_by="w1", claimed_until=T0 + timedelta(minutes=1))  # running
    queue.reschedule("test.record", key="check", due_at=T0 + timedelta(minutes=9), payload={"n": 3})
    assert Job.objects.get(pk=job.pk).state == Job.CANCELLED
    assert Job.objects.get(key="check", state=Job.PENDING).due_at == T0 + timedelta(minutes=9)
