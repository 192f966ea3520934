"""The home dashboard: open incidents with where their escalation stands, who is on call now, the
fragment the page swaps in, the event stream's guard and format, and a query count that does not
grow with the number of incidents."""

import asyncio
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.escalation.conftest import SYSTEM, Clock, tier
from tocsin.catalog import services as catalog
from tocsin.escalation import services as escalation
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident
from tocsin.oncall import services as oncall
from tocsin.web import dashboard, events


@pytest.fixture
def service(make_team):
    team = make_team("Platform")
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                  tier=2)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def clock(db, now):
    engine_clock = Clock()
    engine_clock.now = now
    return engine_clock


@pytest.fixture
def two_tiers(person, service):
    ana, ben = person("Ana Silva"), person("Ben Okafor")
    policy = escalation.create_policy("Payments", {"tiers": [tier(ana, delay=10), tier(ben, delay=10,
                                                                                       path="managerial")]},
                                      actor=SYSTEM)
    escalation.link_service(service, policy, actor=SYSTEM)
    return ana, ben


@pytest.fixture
def viewer(client, make_user):
    client.force_login(make_user("watcher", roles=["viewer"]))
    return client


def trigger(service, at, title="Card payments failing", **fields):
    return incidents.trigger_incident(service, title, actor=SYSTEM, at=at, **fields)


def row_of(html, number):
    """The <tr> of incident `number` in the page, as text."""
    match = re.search(rf'<tr data-incident="{number}".*?</tr>', html, re.S)
    assert match, f"no row for incident #{number}"
    return match.group(0)


def test_escalating_incident_shows_tier_next_step_and_who_was_paged(viewer, two_tiers, service, clock, now):
    incident = trigger(service, now)
    clock.at(now)
    html = viewer.get("/").content.decode()
    row = row_of(html, incident.number)
    assert 'data-status="triggered"' in row and "Triggered" in row
    assert f'href="/incidents/{incident.number}/"' in row
    assert 'data-tier="1"' in row and "tier 1 of 2" in row and "technical" in row
    due = Incident.objects.get(pk=incident.pk).escalation.next_step_at
    assert due == now + timedelta(minutes=10)
    assert f'class="next-step" data-due="{dashboard.iso(due)}"' in row
    assert re.search(r'<span class="what">tier 2</span> <span class="when">in \d+ s</span>', row)
    assert '<span class="paged-person current" data-pages="1">Ana Silva</span>' in row
    assert "Ben Okafor" not in row and "UNPAGED" not in row

    clock.at(now + timedelta(minutes=10))
    row = row_of(viewer.get("/").content.decode(), incident.number)
    assert 'data-tier="2"' in row and "tier 2 of 2" in row and "managerial" in row
    assert '<span class="what">final fallback</span>' in row
    assert '<span class="paged-person" data-pages="1">Ana Silva</span>' in row  # paged before, not now
    assert '<span class="paged-person current" data-pages="1">Ben Okafor</span>' in row


def test_acknowledged_shows_no_next_step_and_resolved_leaves_the_board(viewer, two_tiers, service, clock, now):
    incident = trigger(service, now)
    clock.at(now)
    incidents.acknowledge(incident, actor=SYSTEM, via="web", at=now + timedelta(minutes=1))
    row = row_of(viewer.get("/").content.decode(), incident.number)
    assert 'data-status="acknowledged"' in row and "Acknowledged: tier 1 of 2" in row
    assert "data-due" not in row and "Ana Silva" in row
    incidents.resolve(incident, actor=SYSTEM, via="web", at=now + timedelta(minutes=2))
    html = viewer.get("/").content.decode()
    assert f'data-incident="{incident.number}"' not in html
    assert 'id="no-open-incidents"' in html


def test_unpaged_incident_is_flagged_loudly(viewer, service, clock, now):
    incident = trigger(service, now)  # no policy linked and no administrator: nobody at all
    clock.at(now)
    row = row_of(viewer.get("/").content.decode(), incident.number)
    assert 'data-unpaged="true"' in row and ">UNPAGED</span>" in row
    assert "No policy: fallback paged" in row


def test_triggered_and_high_urgency_come_first(viewer, two_tiers, service, now):
    low = trigger(service, now, title="Slow reports", urgency="low")
    acked = trigger(service, now, title="Disk filling")
    incidents.acknowledge(acked, actor=SYSTEM, at=now)
    high = trigger(service, now, title="Checkout down")
    html = viewer.get("/").content.decode()
    order = [int(n) for n in re.findall(r'<tr data-incident="(\d+)"', html)]
    assert order == [high.number, low.number, acked.number]


def test_home_keeps_roles_and_loads_the_script_from_static(viewer):
    html = viewer.get("/").content.decode()
    assert "Your roles" in html and "Viewer" in html and "<code>incidents:read</code>" in html
    assert re.search(r'<script src="/static/web/dashboard.js" defer></script>', html)
    assert "<script>" not in html  # the CSP allows no inline script
    assert 'id="open-incidents"' in html and 'data-events-url="/events/dashboard"' in html
    assert 'id="dashboard-refresh" href="/"' in html
    assert viewer.get("/static/web/dashboard.js").status_code == 200


def test_without_incidents_read_the_board_is_not_shown(client, make_user):
    client.force_login(make_user("nobody"))
    html = client.get("/").content.decode()
    assert 'id="open-incidents"' not in html and 'id="oncall-now"' not in html
    assert "You hold no role yet" in html
    assert client.get("/dashboard/fragment").status_code == 403


def test_oncall_now_lists_every_schedule_with_who_holds_it(viewer, person):
    ana = person("Ana Silva")
    covered = oncall.create_schedule(actor=SYSTEM, name="Network primary", time_zone="UTC")
    oncall.add_layer(covered, actor=SYSTEM, participants=[ana], name="Weekly", start_date=date(2026, 1, 5))
    oncall.create_schedule(actor=SYSTEM, name="Database", time_zone="UTC")
    html = viewer.get("/").content.decode()
    section = re.search(r'<section class="card" id="oncall-now".*?</section>', html, re.S).group(0)
    assert re.search(r'data-schedule="network-primary">.*?<strong class="oncall-person">Ana Silva</strong>', section,
                     re.S)
    assert re.search(r'data-schedule="database">.*?<strong class="bad">Nobody</strong>', section, re.S)


def test_fragment_is_the_table_alone(viewer, two_tiers, service, clock, now):
    incident = trigger(service, now)
    clock.at(now)
    response = viewer.get("/dashboard/fragment")
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "<html" not in html and "<table" in html and 'data-now="' in html
    assert f'data-incident="{incident.number}"' in html


def test_a_wsgi_server_tells_the_browser_not_to_stream(viewer):
    assert viewer.get("/events/dashboard").status_code == 204  # EventSource stops; no thread held


def test_fragment_and_stream_need_a_signed_in_user(client):
    assert client.get("/dashboard/fragment").status_code == 302
    assert client.get("/events/dashboard")["Location"].startswith("/login/")


def _open_incidents_page(viewer):
    with CaptureQueriesContext(connection) as queries:
        assert viewer.get("/").status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_incidents(viewer, person, two_tiers, service, clock, now, make_user):
    person("Root", user=make_user("root", roles=["admin"]))
    schedule = oncall.create_schedule(actor=SYSTEM, name="Network primary", time_zone="UTC")
    oncall.add_layer(schedule, actor=SYSTEM, participants=list(two_tiers), name="Weekly", start_date=date(2026, 1, 5))

    def open_more(count, start):
        for n in range(count):
            incident = trigger(service, now, title=f"Broken {start + n}", urgency="low" if n % 2 else "high")
            if n % 3 == 1:
                incidents.acknowledge(incident, actor=SYSTEM, at=now)
        clock.at(now)
        clock.at(now + timedelta(minutes=10))  # tier 2 for the triggered ones, more paged people

    open_more(3, 0)
    few = _open_incidents_page(viewer)
    assert len(dashboard.open_incidents(now, None).rows) == 3
    open_more(27, 3)
    assert len(dashboard.open_incidents(now, None).rows) == 30
    html = viewer.get("/").content.decode()
    assert html.count("<tr data-incident=") == 30 and "Ben Okafor" in html
    assert _open_incidents_page(viewer) == few


def test_read_model_itself_is_two_queries(db, two_tiers, service, clock, now, django_assert_num_queries, make_user):
    watcher = make_user("watcher", roles=["viewer"])
    for n in range(5):
        trigger(service, now, title=f"Broken {n}")
    clock.at(now)
    with django_assert_num_queries(2):
        board = dashboard.open_incidents(now, watcher)
        assert [row.paged[0].name for row in board.rows] == ["Ana Silva"] * 5


@pytest.mark.parametrize("held, last_paged, next_step", [
    ((0, 0, 0), None, "tier 1"),  # a run's first step is still to come
    ((0, 0, 1), (0, 0), "follow-up 1"),
    ((0, 1, 0), (0, 0), "tier 2"),
    ((0, 2, 0), (0, 1), "final fallback"),
    ((1, 0, 0), (0, 1), "tier 1, repeat 1"),  # the repeat starts over after the last tier
    ((1, 1, 2), (1, 1), "follow-up 2"),
])
def test_the_tier_paged_last_is_read_from_the_step_still_to_come(held, last_paged, next_step):
    cycle, tier_index, follow_up = held
    held = SimpleNamespace(cycle=cycle, tier=tier_index, follow_up=follow_up)
    assert dashboard._last_paged(held, 2) == last_paged
    assert dashboard._next_step(held, 2) == next_step


def test_snapshot_names_the_incidents_with_new_entries(db, service, now):
    first = trigger(service, now)
    before = events._snapshot(None)
    assert before.changed is None and before.open_count == 1
    second = trigger(service, now, title="Another")
    incidents.add_note(first, "Looking into it", actor=SYSTEM)
    after = events._snapshot(before.newest_entry)
    assert after.newest_entry > before.newest_entry and after.open_count == 2
    assert after.changed == {first.pk, second.pk}
    assert events._snapshot(after.newest_entry).changed is None  # nothing newer


def test_subscription_coalesces_and_caps():
    async def scenario():
        inbox = events.Subscription()
        assert await inbox.next(0.01) is False
        inbox.push({1})
        inbox.push({2, 1})
        assert await inbox.next(1) == {1, 2}
        inbox.push({3})
        inbox.push(None)
        assert await inbox.next(1) is None  # unknown which: everything
        inbox.push(set(range(events.MAX_IDS + 1)))
        assert await inbox.next(1) is None
        return True

    assert asyncio.run(scenario())


def test_event_lines():
    assert events._event({7, 3}) == 'event: changed\ndata: {"incidents": [3, 7]}\n\n'
    assert events._event(None) == "event: changed\ndata: {}\n\n"


@pytest.mark.django_db(transaction=True)
def test_stream_answers_with_sse_headers_and_a_first_chunk(make_user):
    user = make_user("watcher", roles=["viewer"])
    nobody = make_user("nobody")

    async def scenario():
        client = AsyncClient()
        await client.aforce_login(nobody)
        assert (await client.get("/events/dashboard")).status_code == 403
        await client.aforce_login(user)
        response = await client.get("/events/dashboard")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
        stream = aiter(response.streaming_content)
        first = await anext(stream)
        await stream.aclose()
        return first.decode() if isinstance(first, bytes) else first

    assert asyncio.run(scenario()).startswith("retry: ")


def test_the_board_leaves_out_security_incidents_the_viewer_may_not_see(viewer, two_tiers, service, now, make_user):
    trigger(service, now, title="Routine outage")
    trigger(service, now, title="Credential stuffing", security_category="intrusion")
    html = viewer.get("/").content.decode()
    assert "Routine outage" in html and "Credential stuffing" not in html
    officer = make_user("officer", roles=["security_officer"])
    assert len(dashboard.open_incidents(now, officer).rows) == 2


def test_a_failing_synthetic_check_puts_a_delivery_warning_above_the_incidents(viewer, person):
    from tocsin.directory import services as directory
    from tocsin.notify.models import SyntheticCheck

    ops = person("Ops test phone")
    method = directory.add_method(actor=SYSTEM, person=ops, kind="email", value="probe@example.org")
    assert "delivery-health" not in viewer.get("/").content.decode()
    SyntheticCheck.objects.create(name="E-mail round trip", channel="email", method=method, failing=True)
    html = viewer.get("/").content.decode()
    assert 'id="delivery-health"' in html and "E-mail round trip" in html and "probe@example.org" not in html
