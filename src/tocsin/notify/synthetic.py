"""Synthetic delivery checks (F10): on its interval, each enabled check sends a short test message
through its provider to its designated test contact; the run passes when delivery is confirmed
(at once for e-mail and webhooks, by the status callback for Twilio) and fails when it is not
within the check's deadline. A check turning failing (or recovering) is audited once per change."""

import logging
from datetime import timedelta

import httpx
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tocsin.core import audit
from tocsin.directory.models import ContactMethod
from tocsin.engine import queue

from . import direct, links
from .chains import CHANNEL_OF
from .models import CHANNELS, SyntheticCheck, SyntheticRun
from .provider_choice import Catalogue, config_of
from .providers.base import DELIVERED, FAILED, SENT, Message, build
from .providers.safety import without_contacts

log = logging.getLogger("tocsin.notify")
DEADLINE_JOB = "notify.synthetic.deadline"
ACTOR = audit.Actor.system("synthetic checks")
# Provider statuses (Twilio's MessageStatus and CallStatus) that settle a pending run.
PASSING = {"delivered", "completed", "read"}
FAILING = {"failed", "undelivered", "busy", "no-answer", "canceled", "cancelled"}


def is_due(check, now):
    return check.last_run_at is None or check.last_run_at + timedelta(minutes=check.interval_minutes) <= now


def due_checks(now):
    """The enabled checks whose interval has passed, in one query."""
    return [c for c in SyntheticCheck.objects.filter(enabled=True).select_related("provider", "method")
            if is_due(c, now)]


def text_of(check):
    return f"Tocsin synthetic check '{check.name}': a test of the {check.channel} channel. No action needed."


def _status_callback():
    try:
        return links.absolute(reverse("notify-twilio-status"))
    except NoReverseMatch:
        return ""


def _provider_for(check, catalogue):
    if check.provider is not None:
        if not check.provider.enabled:
            return None, f"provider {check.provider.name} is disabled"
        return build(config_of(check.provider)), ""
    candidates = catalogue.candidates(check.channel, check.method.value)
    if not candidates:
        return None, f"no provider is configured for {check.channel}"
    return candidates[0], ""


def run_check(check, *, now, catalogue=None):
    """Send one test message for `check` and record its run; None when another process took this
    turn of the check first. Call it outside a transaction: it waits on the network."""
    # The turn is claimed by moving last_run_at, only if nobody moved it meanwhile.
    claimed = SyntheticCheck.objects.filter(pk=check.pk, enabled=True).filter(
        Q(last_run_at__isnull=True) if check.last_run_at is None else Q(last_run_at=check.last_run_at)
    ).update(last_run_at=now)
    if not claimed:
        return None
    check.last_run_at = now
    provider, problem = _provider_for(check, catalogue or Catalogue())
    run = SyntheticRun.objects.create(synthetic=check, started_at=now,
                                      provider=provider.config.name if provider else "")
    if provider is None:
        return finish(run, SyntheticRun.FAILED, now=now, error=problem)
    message = Message(channel=check.channel, to=check.method.value, subject=f"Tocsin synthetic check: {check.name}",
                      text=text_of(check), data={"synthetic": True, "check": check.name}, key=f"synthetic-{run.pk}",
                      status_callback=_status_callback())
    if check.channel == "voice":
        message.voice_url = links.absolute(reverse("notify-synthetic-voice", args=[run.pk]))
    try:
        outcome, latency = direct.send(provider, message)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        return finish(run, SyntheticRun.FAILED, now=now, error=f"{type(exc).__name__}")
    run.provider_message_id, run.latency_ms = outcome.provider_message_id[:120], latency
    run.save(update_fields=["provider_message_id", "latency_ms"])
    if outcome.status == DELIVERED:
        return finish(run, SyntheticRun.PASSED, now=now)
    if outcome.status == FAILED or outcome.status != SENT:
        return finish(run, SyntheticRun.FAILED, now=now, error=without_contacts(outcome.error or outcome.status))
    # Taken, not yet delivered: the provider's callback settles it, or the deadline fails it.
    queue.schedule(DEADLINE_JOB, due_at=now + timedelta(seconds=check.deadline_seconds),
                   payload={"run": run.pk}, key=f"{DEADLINE_JOB}:{run.pk}")
    return run


def run_due(now, *, catalogue=None):
    """Run every check that is due; returns the runs started."""
    checks = due_checks(now)
    if not checks:
        return []
    catalogue = catalogue or Catalogue()
    runs = []
    for check in checks:
        try:
            run = run_check(check, now=now, catalogue=catalogue)
        except Exception as exc:  # one broken check must not stop the others
            log.error("synthetic check failed to run", extra={"check": check.pk, "error": type(exc).__name__})
            continue
        if run is not None:
            runs.append(run)
    return runs


def finish(run, status, *, now, error=""):
    """Settle a pending run (once: a late callback after the deadline changes nothing) and the
    check's failing flag."""
    with transaction.atomic():
        settled = SyntheticRun.objects.filter(pk=run.pk, status=SyntheticRun.PENDING).update(
            status=status, finished_at=now, error=error[:500])
        run.refresh_from_db()
        if settled:
            _set_failing(run.synthetic_id, status == SyntheticRun.FAILED, run, now)
    return run


def _set_failing(check_id, failing, run, now):
    changed = SyntheticCheck.objects.filter(pk=check_id, failing=not failing).update(failing=failing)
    if changed:
        check = SyntheticCheck.objects.get(pk=check_id)
        audit.record(ACTOR, "notify.synthetic_failing" if failing else "notify.synthetic_recovered", check, at=now,
                     summary={"check": check.name, "channel": check.channel, "run": run.pk,
                              "provider": run.provider, "error": run.error[:200]})


def provider_status(provider_message_id, status, at=None):
    """A provider's status callback for a synthetic run (Twilio's MessageStatus or CallStatus);
    whether it settled one. Unknown ids, and statuses on the way (queued, sent), change nothing."""
    status = (status or "").strip().lower()
    if not provider_message_id or status not in PASSING | FAILING:
        return False
    run = SyntheticRun.objects.filter(provider_message_id=provider_message_id, status=SyntheticRun.PENDING).first()
    if run is None:
        return False
    now = at or timezone.now()
    if status in PASSING:
        SyntheticRun.objects.filter(pk=run.pk).update(
            latency_ms=max(0, int((now - run.started_at).total_seconds() * 1000)))
        finish(run, SyntheticRun.PASSED, now=now)
    else:
        finish(run, SyntheticRun.FAILED, now=now, error=f"provider status {status}")
    return run.status != SyntheticRun.PENDING


def deadline_passed(run_id, now):
    """The deadline job: a run still pending has failed."""
    run = SyntheticRun.objects.filter(pk=run_id, status=SyntheticRun.PENDING).select_related("synthetic").first()
    if run is None:
        return False
    finish(run, SyntheticRun.FAILED, now=now,
           error=f"not delivered within {run.synthetic.deadline_seconds} s")
    return True


# --- administration ------------------------------------------------------------------------------


def add_check(*, actor, name, channel, method, provider=None, interval_minutes=60, deadline_seconds=120):
    """A new synthetic check. `method` is the designated test contact (any owner: a test phone is
    often a team's)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError({"name": "Give a name of at most 120 characters."})
    if SyntheticCheck.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A check named '{name}' exists already."})
    if channel not in dict(CHANNELS):
        raise ValidationError({"channel": f"Unknown channel '{channel}'. Known: {', '.join(dict(CHANNELS))}."})
    if not isinstance(method, ContactMethod):
        raise ValidationError({"method": "Choose the test contact method."})
    if CHANNEL_OF.get(method.kind) != channel:
        raise ValidationError({"method": f"A {method.get_kind_display()} method does not take {channel} messages."})
    if provider is not None and channel not in (provider.channels or []):
        raise ValidationError({"provider": f"{provider.name} does not serve {channel}."})
    if not 1 <= int(interval_minutes) <= 7 * 24 * 60:
        raise ValidationError({"interval_minutes": "Between 1 minute and 1 week."})
    if not 10 <= int(deadline_seconds) <= 24 * 3600:
        raise ValidationError({"deadline_seconds": "Between 10 seconds and 1 day."})
    with transaction.atomic():
        check = SyntheticCheck.objects.create(name=name, channel=channel, method=method, provider=provider,
                                              interval_minutes=interval_minutes, deadline_seconds=deadline_seconds)
        audit.record(actor, "notify.synthetic_check_added", check,
                     summary={"name": name, "channel": channel, "provider": provider.name if provider else "",
                              "method": method.pk, "interval_minutes": interval_minutes,
                              "deadline_seconds": deadline_seconds})
    return check


def set_enabled(check, enabled, *, actor):
    with transaction.atomic():
        check.enabled = bool(enabled)
        check.save(update_fields=["enabled"])
        audit.record(actor, "notify.synthetic_check_enabled" if enabled else "notify.synthetic_check_disabled", check,
                     summary={"name": check.name})
    return check


class SyntheticCollector:
    """tocsin_synthetic_check_failing{check,channel}: 1 while an enabled check is failing."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        gauge = GaugeMetricFamily("tocsin_synthetic_check_failing", "1 while a synthetic delivery check fails",
                                  labels=["check", "channel"])
        for name, channel, failing in SyntheticCheck.objects.filter(enabled=True).values_list(
                "name", "channel", "failing"):
            gauge.add_metric([name, channel], 1 if failing else 0)
        yield gauge
