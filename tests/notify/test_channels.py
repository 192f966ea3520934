"""Service and team chat channels (F1, F6): lifecycle posts to a real local receiver through the
engine (once per event, retried on a 5xx, recorded on the timeline when refused), need-to-know
for security incidents, escalation posts, validation that names the field, and the JSON API."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tocsin.catalog import services as catalog
from tocsin.core import audit, signing
from tocsin.core.models import AuditEntry
from tocsin.engine.models import Job
from tocsin.engine.worker import Engine
from tocsin.escalation import services as escalation
from tocsin.incidents import services as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.notify import channels, services_channels
from tocsin.notify.models import ServiceChannel

SYSTEM = audit.Actor.system("test")
ALL = ["triggered", "acknowledged", "escalated", "resolved"]


@pytest.fixture(autouse=True)
def _channel_receivers():
    channels.connect()  # what NotifyConfig.ready does once the line is added there (idempotent)


@pytest.fixture
def team(make_team):
    return make_team("Platform")


@pytest.fixture
def service(team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                  tier=2)


@pytest.fixture
def other_service(team, make_team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Search", kind="technical",
                                  owner_team=make_team("Search team"), tier=3)


@pytest.fixture
def engine(db):
    return Engine(name="channel-tests")


def run(engine, now):
    """Run every job due at `now` (the engine's own, escalation and dispatch included)."""
    engine.run_due(now)


def slack_channel(receiver, *, service=None, team=None, name="#ops", events=ALL, path="/services/T0/B0/abcdXYZ1"):
    return services_channels.add_channel(service=service, team=team, kind="slack", name=name,
                                         url=receiver.url + path, events=events, actor=SYSTEM)


def trigger(service, at, **fields):
    return incidents.trigger_incident(service, fields.pop("title", "Card payments failing"), actor=SYSTEM, at=at,
                                      details=fields.pop("details", "5xx at 7 % on checkout"), **fields)


def posts(receiver):
    return [r.json() for r in receiver.requests]


def header_of(body):
    return body["blocks"][0]["text"]["text"]


def timeline(incident):
    return list(TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.NOTIFIED)
                .values_list("message", flat=True))


def channel_jobs(**filters):
    return Job.objects.filter(kind=channels.JOB, **filters)


# --- posting --------------------------------------------------------------------


def test_a_triggered_incident_posts_once_to_its_service_slack_channel(service, webhook_receiver, private_webhooks,
                                                                       engine):
    slack_channel(webhook_receiver, service=service)
    now = timezone.now()
    incident = trigger(service, now)
    run(engine, now)
    run(engine, now + timedelta(minutes=1))
    channels.announce(incident, "triggered", now)  # the signal again (a retried step): nothing new
    run(engine, now + timedelta(minutes=2))

    assert len(webhook_receiver.requests) == 1
    request = webhook_receiver.requests[0]
    assert request.path == "/services/T0/B0/abcdXYZ1"
    body = request.json()
    assert header_of(body) == f"#{incident.number} Card payments failing"
    text = json.dumps(body)
    assert "Triggered:" in text and "Payments" in text
    buttons = [e["action_id"] for e in body["blocks"][-1]["elements"]]
    assert buttons[:2] == ["tocsin_ack", "tocsin_resolve"]  # the interactive callback's buttons
    assert body["blocks"][-1]["elements"][0]["value"] == str(incident.pk)
    assert timeline(incident) == ["Posted to #ops: triggered."]
    assert channel_jobs(state=Job.DONE).count() == 2  # the second found the first's post and sent nothing


def test_acknowledged_and_resolved_post_but_an_unsubscribed_event_does_not(service, webhook_receiver,
                                                                            private_webhooks, engine):
    slack_channel(webhook_receiver, service=service, events=["triggered", "resolved"])
    now = timezone.now()
    incident = trigger(service, now)
    incidents.acknowledge(incident, actor=SYSTEM, at=now + timedelta(seconds=1))
    incidents.resolve(incident, actor=SYSTEM, at=now + timedelta(seconds=2))
    run(engine, now + timedelta(seconds=3))
    assert [b["text"] for b in posts(webhook_receiver)] == [f"#{incident.number} Card payments failing"] * 2
    texts = [b["blocks"][1]["text"]["text"] for b in posts(webhook_receiver)]
    assert texts[0].startswith("Triggered:") and texts[1].startswith("Resolved:")
    assert "No action required" in texts[1]  # rendered as of the event: resolved

    both = slack_channel(webhook_receiver, service=service, name="#ops-all", path="/services/T0/B1/efghIJK2")
    second = trigger(service, now + timedelta(seconds=4))
    incidents.acknowledge(second, actor=SYSTEM, at=now + timedelta(seconds=5))
    run(engine, now + timedelta(seconds=6))
    to_all = [r.json()["blocks"][1]["text"]["text"].split(":")[0] for r in webhook_receiver.requests
              if r.path == "/services/T0/B1/efghIJK2"]
    assert to_all == ["Triggered", "Acknowledged"]
    assert both.events == ALL


def test_the_owner_teams_channel_hears_of_its_services_and_no_other(service, other_service, team, webhook_receiver,
                                                                    private_webhooks, engine):
    slack_channel(webhook_receiver, team=team, name="#platform", events=["triggered"])
    now = timezone.now()
    mine = trigger(service, now)
    trigger(other_service, now, title="Search is slow")
    run(engine, now)
    assert [header_of(b) for b in posts(webhook_receiver)] == [f"#{mine.number} Card payments failing"]


def test_a_security_incident_shows_its_title_only(service, webhook_receiver, private_webhooks, engine):
    slack_channel(webhook_receiver, service=service)
    now = timezone.now()
    incident = trigger(service, now, title="Suspicious logins on admin", details="from 203.0.113.9 for user ceo",
                       security_category="intrusion")
    run(engine, now)
    [request] = webhook_receiver.requests
    raw = request.body.decode()
    assert "Suspicious logins on admin" in raw
    for withheld in ("203.0.113.9", "ceo", "Payments", "Platform"):
        assert withheld not in raw
    assert incident.security


def test_a_signed_webhook_channel_gets_a_verifiable_body(service, webhook_receiver, private_webhooks, engine):
    secret = "whsec_for-the-tests-0123456789"
    services_channels.add_channel(service=service, kind="webhook", name="SIEM", url=webhook_receiver.url + "/hook",
                                  secret=secret, events=["triggered"], actor=SYSTEM)
    now = timezone.now()
    incident = trigger(service, now)
    run(engine, now)
    [request] = webhook_receiver.requests
    stamp, signature = request.headers["X-Tocsin-Timestamp"], request.headers["X-Tocsin-Signature"]
    assert signing.verify(secret.encode(), stamp, request.body, signature.removeprefix("v1="))
    assert request.json()["data"]["event"] == "triggered"
    assert request.json()["data"]["incident_id"] == incident.pk
    assert request.headers["Idempotency-Key"].startswith(f"{channels.JOB}:")


def test_a_500_is_retried_by_the_engine_until_it_is_taken(service, webhook_receiver, private_webhooks, engine):
    slack_channel(webhook_receiver, service=service, events=["triggered"])
    webhook_receiver.respond_with(500, "internal_error")
    now = timezone.now()
    incident = trigger(service, now)
    run(engine, now)
    job = channel_jobs().get()
    assert job.state == Job.PENDING and job.attempts == 1 and job.due_at > now
    assert "#ops" in job.last_error and webhook_receiver.url not in job.last_error
    assert timeline(incident) == []

    webhook_receiver.respond_with(200, "ok")
    run(engine, now + timedelta(minutes=5))
    assert len(webhook_receiver.requests) == 2
    assert channel_jobs().get().state == Job.DONE
    assert timeline(incident) == ["Posted to #ops: triggered."]


def test_a_500_every_time_ends_as_a_dead_letter_said_on_the_timeline(service, webhook_receiver, private_webhooks,
                                                                      engine):
    slack_channel(webhook_receiver, service=service, events=["triggered"])
    webhook_receiver.respond_with(503, "unavailable")
    now = timezone.now()
    incident = trigger(service, now)
    for minute in range(12):
        run(engine, now + timedelta(minutes=minute * 20))
    assert channel_jobs().get().state == Job.DEAD
    assert len(webhook_receiver.requests) == 8
    assert timeline(incident) == ["Could not post to #ops: it failed on every attempt (ChannelPostFailed)."]


def test_a_400_is_not_retried_and_lands_on_the_timeline(service, webhook_receiver, private_webhooks, engine):
    slack_channel(webhook_receiver, service=service, events=["triggered"])
    webhook_receiver.respond_with(400, "invalid_blocks")
    now = timezone.now()
    incident = trigger(service, now)
    run(engine, now)
    run(engine, now + timedelta(minutes=10))
    assert len(webhook_receiver.requests) == 1
    assert channel_jobs().get().state == Job.DONE
    assert timeline(incident) == ["Could not post to #ops: Slack HTTP 400: invalid_blocks"]


def test_a_channel_removed_or_unsubscribed_before_its_post_gets_nothing(service, webhook_receiver, private_webhooks,
                                                                         engine):
    gone = slack_channel(webhook_receiver, service=service, events=["triggered"])
    quiet = slack_channel(webhook_receiver, service=service, name="#quiet", path="/services/T0/B2/quietQQ1")
    now = timezone.now()
    trigger(service, now)
    services_channels.remove_channel(gone, actor=SYSTEM)
    services_channels.change_channel(quiet, events=["resolved"], actor=SYSTEM)
    run(engine, now)
    assert webhook_receiver.requests == []


def test_a_tier_escalation_posts_escalated(service, person, webhook_receiver, private_webhooks, engine):
    slack_channel(webhook_receiver, service=service, events=["escalated"])
    ana, ben = person("Ana"), person("Ben")
    tiers = [{"delay_minutes": 10, "targets": [{"type": "person", "id": p.pk}]} for p in (ana, ben)]
    escalation.link_service(service, escalation.create_policy("Payments", {"tiers": tiers}, actor=SYSTEM),
                            actor=SYSTEM)
    now = timezone.now()
    incident = trigger(service, now)
    run(engine, now)  # tier 1 pages Ana: not an escalation
    assert webhook_receiver.requests == []
    later = now + timedelta(minutes=10)
    run(engine, later)  # tier 2 pages Ben
    run(engine, later + timedelta(seconds=1))
    [body] = posts(webhook_receiver)
    assert body["blocks"][1]["text"]["text"].startswith("Escalated:")
    assert header_of(body) == f"#{incident.number} Card payments failing"


# --- validation -----------------------------------------------------------------


@pytest.mark.parametrize("fields, field, words", [
    ({"url": "http://hooks.slack.com/services/T/B/x"}, "url", "https://"),
    ({"url": "https://example.org/services/T/B/x"}, "url", "hooks.slack.com"),
    ({"url": "https://user:pw@hooks.slack.com/services/T/B/x"}, "url", "credentials"),
    ({"url": "not a url"}, "url", "spaces"),
    ({"url": "https://127.0.0.1/hook"}, "url", "TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES"),
    ({"url": ""}, "url", "URL"),
    ({"kind": "teams", "url": "https://hooks.slack.com/services/T/B/x"}, "url", "Teams"),
    ({"kind": "webhook", "url": "https://hooks.slack.com/services/T/B/x", "secret": "s" * 20}, "kind", "Slack"),
    ({"kind": "webhook", "url": "https://siem.example.org/in", "secret": "short"}, "secret", "16"),
    ({"kind": "irc"}, "kind", "slack, teams, webhook"),
    ({"events": []}, "events", "at least one"),
    ({"events": ["paged"]}, "events", "'paged'"),
    ({"name": "  "}, "name", "Name"),
])
def test_bad_channels_are_refused_naming_the_field(service, fields, field, words, settings, monkeypatch):
    monkeypatch.delenv("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", raising=False)
    settings.TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES = False
    values = {"kind": "slack", "name": "#ops", "url": "https://hooks.slack.com/services/T0/B0/secretTOKEN",
              "events": ["triggered"], **fields}
    with pytest.raises(services_channels.ValidationError) as caught:
        services_channels.add_channel(service=service, actor=SYSTEM, **values)
    errors = caught.value.message_dict
    assert list(errors) == [field]
    assert words in errors[field][0]
    assert "secretTOKEN" not in str(errors)
    assert not ServiceChannel.objects.exists()


def test_valid_channels_are_saved_audited_and_their_url_masked(service, team):
    slack = services_channels.add_channel(service=service, kind="slack", name="#ops", events=["resolved", "triggered"],
                                          url="https://hooks.slack.com/services/T0/B0/secretTOKEN", actor=SYSTEM)
    services_channels.add_channel(team=team, kind="teams", name="Platform room", events=ALL, actor=SYSTEM,
                                  url="https://prod-01.westeurope.logic.azure.com/workflows/abc/run?sig=zzz")
    assert slack.events == ["triggered", "resolved"]  # in lifecycle order
    assert services_channels.mask_url(slack.url) == "https://hooks.slack.com/…/OKEN"
    assert services_channels.mask_url("https://x.example/a") == "https://x.example/…"
    entry = AuditEntry.objects.filter(action="notify.channel_added").first()
    assert entry.summary["url"] == "https://hooks.slack.com/…/OKEN"
    assert "secretTOKEN" not in json.dumps(list(AuditEntry.objects.values_list("summary", flat=True)))
    with pytest.raises(services_channels.ValidationError) as caught:
        services_channels.add_channel(service=service, team=team, kind="slack", name="x", events=ALL,
                                      url=slack.url, actor=SYSTEM)
    assert "service" in caught.value.message_dict


def test_change_keeps_the_url_and_secret_when_left_empty(service):
    made = services_channels.add_channel(service=service, kind="webhook", name="SIEM", events=["triggered"],
                                         url="https://siem.example.org/in/abcdef", secret="s" * 24, actor=SYSTEM)
    services_channels.change_channel(made, url="", secret="", name="SIEM feed", enabled=False, actor=SYSTEM)
    made.refresh_from_db()
    assert (made.name, made.url, made.secret, made.enabled) == ("SIEM feed", "https://siem.example.org/in/abcdef",
                                                               "s" * 24, False)
    with pytest.raises(services_channels.ValidationError) as caught:
        services_channels.change_channel(made, color="red", actor=SYSTEM)
    assert list(caught.value.message_dict) == ["color"]


# --- API ------------------------------------------------------------------------


def test_api_lists_adds_and_deletes_channels_with_permissions(service, make_user, bearer):
    manager = bearer(make_user("mia", roles=["responder"], teams=["platform"]))
    outsider = bearer(make_user("otto", roles=["responder"]))
    path = f"/api/v1/services/{service.pk}/channels"
    body = {"name": "#ops", "kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/secretTOKEN",
            "events": ["triggered", "acknowledged"]}

    assert outsider.post(path, body, content_type="application/json").status_code == 403
    bad = manager.post(path, {**body, "url": "https://example.org/x"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("url:")
    assert manager.post(path, {**body, "events": ["paged"]}, content_type="application/json").status_code == 422
    assert not ServiceChannel.objects.exists()

    made = manager.post(path, body, content_type="application/json")
    assert made.status_code == 201
    assert made.json()["url"] == "https://hooks.slack.com/…/OKEN"
    listed = outsider.get(path)
    assert listed.status_code == 200 and [c["name"] for c in listed.json()] == ["#ops"]
    assert "secretTOKEN" not in listed.content.decode()

    channel_id = made.json()["id"]
    assert outsider.delete(f"/api/v1/channels/{channel_id}").status_code == 403
    assert manager.delete(f"/api/v1/channels/{channel_id}").status_code == 204
    assert not ServiceChannel.objects.exists()
    assert manager.delete(f"/api/v1/channels/{channel_id}").status_code == 404
