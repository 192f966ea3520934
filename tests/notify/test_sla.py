"""Provider SLA figures (F8) from hand-made attempts: known latencies give known p50/p95 (as
percentile_cont interpolates), the windows count what they should, a breach is flagged on the
page and in /metrics, and the page costs the same number of queries whatever the attempts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.catalog import services as catalog
from tocsin.core import audit, metrics
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.notify import sla
from tocsin.notify.models import Attempt, Provider

SYSTEM = audit.Actor.system("test")
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def page(make_team, person):
    """An incident and a notification request for the attempts to hang on."""
    team = make_team("Platform")
    service = catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical",
                                     owner_team=team, tier=2)
    incident = incidents.trigger_incident(service, "Card payments failing", actor=SYSTEM, at=NOW)
    ana = person("Ana")
    request = NotificationRequest.objects.create(key="sla-test", incident=incident, person=ana,
                                                 reason=NotificationRequest.PAGE, urgency="high")
    Provider.objects.create(name="twilio", kind=Provider.TWILIO, channels=["sms", "voice"], sla_percent=90,
                            sla_seconds=60)
    Provider.objects.create(name="mail", kind=Provider.SMTP, channels=["email"], sla_percent=99, sla_seconds=60)
    return {"request": request, "steps": iter(range(1, 30000))}


def add(page, *, provider, channel, status, ago, latency_ms=None, delivery_s=None):
    """One attempt created `ago` before NOW, answered in latency_ms, delivered delivery_s after it was sent."""
    created = NOW - ago
    sent = created + timedelta(seconds=1) if status != Attempt.SCHEDULED else None
    finished = None
    if status == Attempt.DELIVERED:
        finished = sent + timedelta(seconds=delivery_s or 0)
    elif status in Attempt.FAILURES:
        finished = sent
    return Attempt(request=page["request"], incident_id=page["request"].incident_id,
                   person_id=page["request"].person_id, step=next(page["steps"]), channel=channel,
                   provider=provider, status=status, due_at=created, created_at=created, sent_at=sent,
                   finished_at=finished, latency_ms=latency_ms)


def scene(page, copies=1):
    rows = []
    for _ in range(copies):
        # Twilio SMS, last 24 h: ten delivered (answers 100…1000 ms, delivered 10…100 s later), two
        # failures without an answer, one still only "sent".
        for k in range(1, 11):
            rows.append(add(page, provider="twilio", channel="sms", status=Attempt.DELIVERED,
                            ago=timedelta(hours=1, minutes=k), latency_ms=100 * k, delivery_s=10 * k))
        rows += [add(page, provider="twilio", channel="sms", status=Attempt.FAILED, ago=timedelta(hours=2)),
                 add(page, provider="twilio", channel="sms", status=Attempt.UNDELIVERED, ago=timedelta(hours=3)),
                 add(page, provider="twilio", channel="sms", status=Attempt.SENT, ago=timedelta(hours=4),
                     latency_ms=300)]
        # Three days ago: five quick deliveries (7 d and 30 d only).
        rows += [add(page, provider="twilio", channel="sms", status=Attempt.DELIVERED, ago=timedelta(days=3),
                     latency_ms=100, delivery_s=0) for _ in range(5)]
        # Mail: four delivered at once (SMTP 250), 200 ms each.
        rows += [add(page, provider="mail", channel="email", status=Attempt.DELIVERED, ago=timedelta(hours=5),
                     latency_ms=200) for _ in range(4)]
        # Outside every window, or never sent: not counted.
        rows += [add(page, provider="twilio", channel="sms", status=Attempt.FAILED, ago=timedelta(days=40)),
                 add(page, provider="", channel="sms", status=Attempt.SCHEDULED, ago=timedelta(hours=1))]
    Attempt.objects.bulk_create(rows)


def by_key(found):
    return {(f.provider, f.channel, f.window): f for f in found}


def test_counts_shares_and_percentiles_per_window(page):
    scene(page)
    figures = by_key(sla.figures(NOW))
    assert set(figures) == {("twilio", "sms", w) for w in ("24h", "7d", "30d")} | {
        ("mail", "email", w) for w in ("24h", "7d", "30d")}
    day = figures[("twilio", "sms", "24h")]
    assert (day.attempts, day.accepted, day.delivered, day.finished) == (13, 11, 10, 12)
    assert day.accepted_share == pytest.approx(11 / 13)
    assert day.success_rate == pytest.approx(10 / 12)
    # Answers 100…1000 ms and the 300 ms of the one still "sent": eleven values.
    assert day.answer_p50_ms == pytest.approx(500)
    assert day.answer_p95_ms == pytest.approx(950)
    # Delivery: answer + (finished - sent) = 10 100 k ms for k = 1…10.
    assert day.delivery_p50_ms == pytest.approx(55_550)
    assert day.delivery_p95_ms == pytest.approx(96_455)
    assert day.within_sla == 5  # k = 1…5 are within 60 s
    assert day.breached  # 5 of 13 against 90 %

    week = figures[("twilio", "sms", "7d")]
    assert (week.attempts, week.delivered, week.within_sla) == (18, 15, 10)
    assert week.delivery_p50_ms == pytest.approx(30_300)  # 100 ×5, then 10 100 … 101 000
    assert figures[("twilio", "sms", "30d")].attempts == 18  # the 40-day-old failure is out

    mail = figures[("mail", "email", "24h")]
    assert (mail.attempts, mail.delivered, mail.within_sla) == (4, 4, 4)
    assert mail.answer_p50_ms == pytest.approx(200) and mail.delivery_p95_ms == pytest.approx(200)
    assert not mail.breached
    assert sla.breaches(NOW) == [("twilio", "sms")]


def test_exactly_at_the_sla_is_not_a_breach(page):
    rows = [add(page, provider="mail", channel="email", status=Attempt.DELIVERED, ago=timedelta(hours=1),
                latency_ms=100) for _ in range(99)]
    rows.append(add(page, provider="mail", channel="email", status=Attempt.FAILED, ago=timedelta(hours=1)))
    Attempt.objects.bulk_create(rows)
    assert not by_key(sla.figures(NOW))[("mail", "email", "24h")].breached  # 99 of 100 meets 99 %
    Attempt.objects.bulk_create([add(page, provider="mail", channel="email", status=Attempt.FAILED,
                                     ago=timedelta(hours=1))])
    assert by_key(sla.figures(NOW))[("mail", "email", "24h")].breached


def test_a_provider_known_only_by_name_gets_the_default_sla(page):
    Attempt.objects.bulk_create([add(page, provider="smtp", channel="email", status=Attempt.DELIVERED,
                                     ago=timedelta(hours=1), latency_ms=100, delivery_s=61)])
    found = by_key(sla.figures(NOW))[("smtp", "email", "24h")]
    assert found.sla_seconds == 60 and found.within_sla == 0 and found.breached


def test_no_attempts_no_figures(page):
    assert sla.figures(NOW) == []
    assert sla.breaches(NOW) == []


def _page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/notify/providers/sla/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_page_shows_the_breach_and_its_queries_do_not_grow_with_the_attempts(page, make_user):
    client = Client()
    client.force_login(make_user("root", roles=["admin"]))
    scene(page)
    few, html = _page_queries(client)
    assert 'id="sla-breaches"' in html and "twilio (sms)" in html
    assert 'data-provider="twilio" data-channel="sms" data-window="24h" class="breached"' in html
    scene(page, copies=5)
    many, _ = _page_queries(client)
    assert many == few
    with CaptureQueriesContext(connection) as queries:
        sla.figures(NOW)
    assert len(queries) == 4


def test_auditors_may_read_the_page_and_others_get_403(page, make_user):
    auditor = Client()
    auditor.force_login(make_user("audrey", roles=["auditor"]))
    assert auditor.get("/notify/providers/sla/").status_code == 200
    viewer = Client()
    viewer.force_login(make_user("pat", roles=["viewer"]))
    assert viewer.get("/notify/providers/sla/").status_code == 403
    assert Client().get("/notify/providers/sla/").status_code == 302  # to the login page


def test_metrics_expose_ratio_latency_and_breach(page, monkeypatch):
    monkeypatch.setattr(sla.timezone, "now", lambda: NOW)
    scene(page)
    sla.register_metrics()
    sla.register_metrics()  # once is enough; twice must not register twice
    assert sum(isinstance(c, sla.SlaCollector) for c in metrics._collectors) == 1
    text = metrics.exposition().decode()
    assert 'tocsin_provider_sla_breached{channel="sms",provider="twilio"} 1.0' in text
    assert 'tocsin_provider_sla_breached{channel="email",provider="mail"} 0.0' in text
    ratio = 'tocsin_provider_delivery_ratio{channel="sms",provider="twilio",window="24h"} '
    assert float(text.split(ratio)[1].split()[0]) == pytest.approx(10 / 12)
    p95 = 'tocsin_provider_latency_p95_seconds{channel="sms",provider="twilio",window="24h"} '
    assert float(text.split(p95)[1].split()[0]) == pytest.approx(96.455)
