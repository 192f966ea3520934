"""Acknowledgement by signed link (F4): a GET only shows a confirmation, the POST from it acts once."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import links, tokens, views_ack
from tocsin.notify.models import AckToken

from .ack_fixtures import SYSTEM, Scene, audited, timeline


@pytest.fixture
def scene(make_team, person, make_user):
    views_ack.post_limit.clear()
    yield Scene(make_team, person, make_user)
    views_ack.post_limit.clear()


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def path_of(url):
    return url.removeprefix(settings.BASE_URL)


def form_token(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def press(browser, url):
    """What a person does: open the link, then press the button on the page."""
    page = browser.get(path_of(url))
    assert page.status_code == 200
    return browser.post(path_of(url), {"csrfmiddlewaretoken": form_token(page)})


def status(incident):
    return Incident.objects.get(pk=incident.pk).status


def test_links_are_absolute_on_the_public_address(scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    assert links.ack_url(token) == f"{settings.BASE_URL}/ack/{token}"
    assert links.resolve_url(token) == f"{settings.BASE_URL}/resolve/{token}"
    assert links.incident_url(incident) == f"{settings.BASE_URL}/incidents/{incident.number}/"


def test_only_the_digest_of_a_256_bit_token_is_stored(scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    assert len(token) == 52 and re.fullmatch(r"[a-z2-7]+", token)  # 256 bits in base32
    row = AckToken.objects.get()
    assert row.digest == tokens.digest(token) and token not in row.digest


def test_a_scanner_opening_the_link_changes_nothing(scene, browser):
    incident = scene.trigger(details="Secret detail of the outage")
    url = links.ack_url(tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now()))
    first = browser.get(path_of(url))
    browser.get(path_of(url))
    head = browser.head(path_of(url))
    assert first.status_code == 200 and head.status_code == 200
    page = first.content.decode()
    assert incident.reference in page and "Card payments failing" in page
    assert "Secret detail" not in page and "csrfmiddlewaretoken" in page
    assert links.incident_url(incident) in page
    assert first["Referrer-Policy"] == "same-origin" and "no-store" in first["Cache-Control"]
    assert status(incident) == Incident.TRIGGERED
    assert AckToken.objects.get().used_at is None
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == []


def test_the_button_acknowledges_once(scene, browser):
    incident = scene.trigger()
    url = links.ack_url(tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now()))
    page = browser.get(path_of(url))
    done = browser.post(path_of(url), {"csrfmiddlewaretoken": form_token(page)})
    assert done.status_code == 200 and "is acknowledged" in done.content.decode()
    assert done["Referrer-Policy"] == "same-origin" and "no-store" in done["Cache-Control"]
    assert status(incident) == Incident.ACKNOWLEDGED
    again = browser.post(path_of(url), {"csrfmiddlewaretoken": form_token(page)})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == ["Acknowledged by ana via link."]
    assert [e.actor_label for e in audited("incident.acknowledge")] == ["ana"]


def test_a_post_without_the_csrf_token_is_refused(scene, browser):
    incident = scene.trigger()
    url = links.ack_url(tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now()))
    assert browser.post(path_of(url)).status_code == 403
    assert status(incident) == Incident.TRIGGERED and AckToken.objects.get().used_at is None


def test_a_person_without_a_login_acknowledges_as_themselves_in_the_audit_chain(scene, browser):
    incident = scene.trigger()
    press(browser, links.ack_url(tokens.issue(scene.ben, incident, AckToken.ACKNOWLEDGE, now=timezone.now())))
    assert status(incident) == Incident.ACKNOWLEDGED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == [f"Acknowledged by person {scene.ben.pk} via link."]
    [entry] = audited("incident.acknowledge")
    assert (entry.actor_type, entry.actor_label) == ("anonymous", f"person {scene.ben.pk}")
    assert entry.summary == {"number": incident.number, "via": "link", "person": scene.ben.pk}


def test_an_expired_link_is_refused_with_410_and_changes_nothing(scene, browser):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now() - timedelta(hours=25))
    page = browser.get(path_of(links.ack_url(token)))
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.redeem(token, now=timezone.now())
    assert refused.value.status == 410
    assert status(incident) == Incident.TRIGGERED and AckToken.objects.get().used_at is None


def test_an_unknown_link_is_404_and_names_nothing(scene, browser):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    for path in ("/ack/" + "a" * 52, "/ack/" + "x" * 500, "/resolve/" + token):  # an ack token is no resolve link
        page = browser.get(path)
        assert page.status_code == 404
        assert incident.title not in page.content.decode()
    assert status(incident) == Incident.TRIGGERED


def test_the_token_is_accepted_in_any_case(scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    assert tokens.redeem(token.upper(), now=timezone.now()).incident == incident


def test_a_link_acts_only_on_its_own_incident(scene, browser):
    first, second = scene.trigger("Card payments failing"), scene.trigger("Refunds stuck")
    press(browser, links.ack_url(tokens.issue(scene.ana, first, AckToken.ACKNOWLEDGE, now=timezone.now())))
    assert status(first) == Incident.ACKNOWLEDGED and status(second) == Incident.TRIGGERED


def test_the_resolve_link_resolves(scene, browser):
    incident = scene.trigger()
    done = press(browser, links.resolve_url(tokens.issue(scene.ana, incident, AckToken.RESOLVE, now=timezone.now())))
    assert done.status_code == 200 and "is resolved" in done.content.decode()
    assert status(incident) == Incident.RESOLVED
    assert timeline(incident, TimelineEntry.RESOLVED) == ["Resolved by ana via link."]


def test_a_link_of_a_resolved_incident_is_refused(scene, browser):
    incident = scene.trigger()
    url = links.ack_url(tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now()))
    page = browser.get(path_of(url))
    incidents.resolve(incident, actor=SYSTEM)
    refused = browser.post(path_of(url), {"csrfmiddlewaretoken": form_token(page)})
    assert refused.status_code == 410 and "already resolved" in refused.content.decode()
    assert AckToken.objects.get().used_at is None
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == []


def test_a_token_acting_twice_at_once_acts_once(scene):
    """The second redeem finds the row used (on PostgreSQL it waits for the first one's lock)."""
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    tokens.act_with_token(token, now=timezone.now(), via="link")
    with pytest.raises(tokens.TokenRefused) as refused:
        tokens.act_with_token(token, now=timezone.now(), via="link")
    assert refused.value.reason == tokens.USED
    assert len(timeline(incident, TimelineEntry.ACKNOWLEDGED)) == 1


def test_posts_are_rate_limited_per_address(scene, browser):
    incident = scene.trigger()
    url = links.ack_url(tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now()))
    csrf = form_token(browser.get(path_of(url)))
    answers = [browser.post("/ack/" + "b" * 52, {"csrfmiddlewaretoken": csrf}).status_code
               for _ in range(views_ack.POSTS_PER_MINUTE + 1)]
    assert answers[:-1] == [404] * views_ack.POSTS_PER_MINUTE
    assert answers[-1] == 429
    limited = browser.post(path_of(url), {"csrfmiddlewaretoken": csrf})
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert status(incident) == Incident.TRIGGERED



@pytest.fixture
def live_scene(transactional_db, make_team, person, make_user):
    return Scene(make_team, person, make_user)


def test_two_simultaneous_posts_act_once(live_scene):
    """Two requests race with the same token, each in a thread (and connection) of its own."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers on the in-memory SQLite test database lock out: the PostgreSQL run covers this")
    incident = live_scene.trigger()
    token = tokens.issue(live_scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    start = Barrier(2)

    def post():
        start.wait()
        try:
            tokens.act_with_token(token, now=timezone.now(), via="link")
            return "acted"
        except tokens.TokenRefused as refused:
            return refused.reason
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(lambda _: post(), range(2)))
    assert results == sorted(["acted", tokens.USED])
    assert len(timeline(incident, TimelineEntry.ACKNOWLEDGED)) == 1
