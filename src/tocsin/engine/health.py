"""How the engine is doing: queue depth, lag and dead letters, for /metrics, /readyz and the UI."""

from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import Job

LAG_LIMIT_SECONDS = 30


@dataclass(frozen=True)
class QueueState:
    pending: int
    due: int
    dead: int
    lag_seconds: float  # how overdue the oldest due, unleased job is; 0 when none is


def queue_state(now=None):
    now = now or timezone.now()
    waiting = Q(state=Job.PENDING, due_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
    found = Job.objects.filter(state__in=[Job.PENDING, Job.DEAD]).aggregate(
        pending=Count("pk", filter=Q(state=Job.PENDING)),
        due=Count("pk", filter=waiting),
        dead=Count("pk", filter=Q(state=Job.DEAD)),
        oldest=Min("due_at", filter=waiting),
    )
    lag = max(0.0, (now - found["oldest"]).total_seconds()) if found["oldest"] else 0.0
    return QueueState(found["pending"], found["due"], found["dead"], lag)


def lag_problem():
    state = queue_state()
    if state.lag_seconds > LAG_LIMIT_SECONDS:
        return f"engine is lagging: the oldest due job is {state.lag_seconds:.0f} s overdue"
    return None


class EngineCollector:
    def collect(self):
        state = queue_state()
        for name, help_text, value in (
            ("tocsin_engine_jobs_pending", "Jobs waiting, due or not", state.pending),
            ("tocsin_engine_jobs_due", "Jobs due now and not yet claimed (queue depth)", state.due),
            ("tocsin_engine_lag_seconds", "How overdue the oldest due job is", state.lag_seconds),
            ("tocsin_engine_dead_letters", "Jobs that failed every attempt", state.dead),
        ):
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], value)
            yield gauge
