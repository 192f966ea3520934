"""D1 iCal subscriptions: feed secrets are stored as digests only, revocable, audited without the
secret, and only the right people may create or revoke each kind of feed."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.oncall import feeds, services
from tocsin.oncall.models import CalendarFeed

from .conftest import SYSTEM


@pytest.fixture
def world(make_team, make_user, person, schedule):
    network, database = make_team("Network"), make_team("Database")
    vera = make_user("vera", roles=["viewer"])
    nina = make_user("nina", roles=["responder"], teams=["network"])
    dave = make_user("dave", roles=["responder"], teams=["database"])
    ana = directory.create_person(actor=SYSTEM, source="cli", name="Ana", user=vera, teams=[network])
    ben = person("Ben", teams=[network])
    return {"network": network, "database": database, "vera": vera, "nina": nina, "dave": dave,
            "ana": ana, "ben": ben, "sched": schedule(name="Network primary", team=network)}


def test_the_secret_is_kept_only_as_a_digest_and_looked_up_by_it(world):
    feed, secret = services.create_feed(actor=SYSTEM, created_by=world["vera"], schedule=world["sched"])
    assert secret.startswith("tcf_") and len(secret) == 36
    stored = CalendarFeed.objects.values().get(pk=feed.pk)
    assert secret not in json.dumps(stored, default=str)
    assert stored["token_digest"] == feeds.digest(secret) and stored["token_prefix"] == secret[:12]
    assert feeds.lookup(secret).pk == feed.pk
    for wrong in ("", "tcf_", secret[:-1], secret + "x", "tcs_" + secret[4:], "tcf_" + "a" * 300, None):
        assert feeds.lookup(wrong) is None


def test_last_use_is_written_at_most_every_few_minutes(world):
    feed, secret = services.create_feed(actor=SYSTEM, created_by=world["vera"], schedule=world["sched"])
    first = datetime(2026, 3, 1, 12, tzinfo=UTC)
    feeds.lookup(secret, now=first)
    feeds.lookup(secret, now=first + timedelta(minutes=4))
    feed.refresh_from_db()
    assert feed.last_used_at == first
    feeds.lookup(secret, now=first + timedelta(minutes=5))
    feed.refresh_from_db()
    assert feed.last_used_at == first + timedelta(minutes=5)


def test_creation_and_revocation_are_audited_without_the_secret(world):
    feed, secret = services.create_feed(actor=SYSTEM, created_by=world["vera"], person=world["ana"])
    services.revoke_feed(feed, actor=SYSTEM)
    services.revoke_feed(feed, actor=SYSTEM)  # again: nothing more happens
    entries = list(AuditEntry.objects.filter(action__startswith="oncall.feed.").order_by("seq"))
    assert [e.action for e in entries] == ["oncall.feed.created", "oncall.feed.revoked"]
    assert all(secret not in json.dumps(e.summary) and secret[4:12] not in json.dumps(e.summary) for e in entries)
    assert feeds.lookup(secret) is None


def test_unknown_revoked_and_mismatched_feeds_all_answer_404(world, schedule):
    other = schedule(name="Other")
    feed, secret = services.create_feed(actor=SYSTEM, created_by=world["vera"], schedule=world["sched"])
    _, personal = services.create_feed(actor=SYSTEM, created_by=world["vera"], person=world["ana"])
    client = Client()
    url = f"/oncall/{world['sched'].slug}/calendar.ics"
    assert client.get(url, {"token": secret}).status_code == 200
    assert client.get(f"/oncall/people/{world['ana'].pk}/calendar.ics", {"token": personal}).status_code == 200
    refused = [
        client.get(url, {"token": "tcf_" + "x" * 32}),
        client.get(url),
        client.get(f"/oncall/{other.slug}/calendar.ics", {"token": secret}),
        client.get(url, {"token": personal}),
        client.get(f"/oncall/people/{world['ben'].pk}/calendar.ics", {"token": personal}),
        client.get(f"/oncall/people/{world['ana'].pk}/calendar.ics", {"token": secret}),
    ]
    services.revoke_feed(feed, actor=SYSTEM)
    refused.append(client.get(url, {"token": secret}))
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert refused[-1].content == refused[0].content == refused[1].content  # revoked looks like unknown


def test_a_feed_stops_with_its_creators_login(world, make_user):
    owner = make_user("leaver", roles=["viewer"])
    _, secret = services.create_feed(actor=SYSTEM, created_by=owner, schedule=world["sched"])
    owner.is_active = False
    owner.save()
    assert feeds.lookup(secret) is None


def test_api_who_may_create_which_feed(world, bearer, make_user):
    vera, nina, dave = bearer(world["vera"]), bearer(world["nina"]), bearer(world["dave"])
    admin = bearer(make_user("root", roles=["admin"]))
    sched, ana, ben = world["sched"], world["ana"], world["ben"]
    response = vera.post(f"/api/v1/schedules/{sched.pk}/feeds")
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith("http") and f"/oncall/{sched.slug}/calendar.ics?token=tcf_" in body["url"]
    assert body["prefix"] == body["url"].split("token=")[1][:12] and body["schedule_id"] == sched.pk
    secret = body["url"].split("token=")[1]
    assert Client().get(f"/oncall/{sched.slug}/calendar.ics", {"token": secret}).status_code == 200
    expected = [(vera, ana, 201), (vera, ben, 403), (nina, ben, 201), (nina, ana, 201), (dave, ben, 403),
                (admin, ben, 201)]
    for client, target, status in expected:
        assert client.post(f"/api/v1/people/{target.pk}/feeds").status_code == status
    assert vera.post("/api/v1/people/999999/feeds").status_code == 404
    assert vera.post("/api/v1/schedules/999999/feeds").status_code == 404
    assert AuditEntry.objects.filter(action="permission.denied").count() == 2


def test_api_lists_my_feeds_and_revokes_them(world, bearer, schedule):
    vera, nina, dave = bearer(world["vera"]), bearer(world["nina"]), bearer(world["dave"])
    teamless = schedule(name="Teamless")
    mine = vera.post(f"/api/v1/schedules/{world['sched'].pk}/feeds").json()
    loose = vera.post(f"/api/v1/schedules/{teamless.pk}/feeds").json()
    nina.post(f"/api/v1/schedules/{world['sched'].pk}/feeds")
    listed = vera.get("/api/v1/feeds").json()
    assert [f["id"] for f in listed["items"]] == [loose["id"], mine["id"]] and "url" not in listed["items"][0]
    assert dave.delete(f"/api/v1/feeds/{mine['id']}").status_code == 403  # another team's responder
    assert nina.delete(f"/api/v1/feeds/{loose['id']}").status_code == 403  # no team: needs global reach
    assert nina.delete(f"/api/v1/feeds/{mine['id']}").status_code == 204  # manages the schedule's team
    assert vera.delete(f"/api/v1/feeds/{loose['id']}").status_code == 204  # the creator
    assert vera.delete(f"/api/v1/feeds/{loose['id']}").status_code == 204  # already revoked: no change
    assert [f["revoked_at"] is not None for f in vera.get("/api/v1/feeds").json()["items"]] == [True, True]
    assert vera.delete("/api/v1/feeds/999999").status_code == 404


def _browser(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_feeds_page_shows_the_address_once_and_revokes(world):
    client = _browser(world["vera"])
    page = client.get("/oncall/feeds/")
    assert page.status_code == 200 and b"My own shifts (Ana)" in page.content
    created = client.post("/oncall/feeds/", {"target": "me"})
    assert created.status_code == 200
    url = created.context["created"]["url"]
    assert f"/oncall/people/{world['ana'].pk}/calendar.ics?token=tcf_".encode() in created.content
    secret = url.split("token=")[1]
    with time_machine.travel(datetime(2026, 3, 20, tzinfo=UTC), tick=False):
        assert Client().get(f"/oncall/people/{world['ana'].pk}/calendar.ics", {"token": secret}).status_code == 200
    again = client.get("/oncall/feeds/")
    assert secret.encode() not in again.content and secret[:12].encode() in again.content
    client.post("/oncall/feeds/", {"target": str(world["sched"].pk)})
    feed = CalendarFeed.objects.get(person=world["ana"])
    assert _browser(world["dave"]).post(f"/oncall/feeds/{feed.pk}/revoke/").status_code == 403
    assert client.post(f"/oncall/feeds/{feed.pk}/revoke/").status_code == 302
    assert feeds.lookup(secret) is None
    assert CalendarFeed.objects.filter(revoked_at__isnull=True, created_by=world["vera"]).count() == 1


def test_feeds_page_refuses_bad_choices_and_needs_csrf(world):
    client = _browser(world["nina"])  # no person of her own
    page = client.get("/oncall/feeds/")
    assert b"My own shifts" not in page.content
    response = client.post("/oncall/feeds/", {"target": "me"})
    assert response.status_code == 200 and response.context["form"].errors["target"]
    assert not CalendarFeed.objects.exists()
    guarded = _browser(world["vera"], enforce_csrf_checks=True)
    assert guarded.post("/oncall/feeds/", {"target": "me"}).status_code == 403
    assert not CalendarFeed.objects.exists()
    assert Client().get("/oncall/feeds/").status_code == 302  # sign in first
