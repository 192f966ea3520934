"""The alert rules through the JSON API: maintenance windows (on now, next occurrence, ended,
cancelled), peak-hour, routing and inhibition rules, outbound webhooks. Each is created, listed,
changed and deleted; refusals are 403 and change nothing; bad input names the field; changes
are audited; lists cost the same number of queries whatever their length."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.alerts import services_rules
from tocsin.alerts.models import InhibitionRule, MaintenanceWindow, OutboundWebhook, RoutingRule, SuppressionRule
from tocsin.alerts.services_maintenance import create_window
from tocsin.alerts.services_outbound import create_webhook
from tocsin.alerts.services_suppression import create_suppression_rule
from tocsin.core.models import AuditEntry

from .conftest import SYSTEM

JSON = "application/json"


@pytest.fixture
def admin(make_user, bearer):
    return bearer(make_user("root", roles=["admin"]))


@pytest.fixture
def network(make_service):
    return make_service("Core network", team="Network")


@pytest.fixture
def platform_manager(make_user, bearer, service):
    """Manages the Platform team's services only."""
    return bearer(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]))


@pytest.fixture
def viewer(make_user, bearer, service):
    return bearer(make_user("vic", roles=["viewer"]))


def audited(action):
    return AuditEntry.objects.filter(action=action).count()


def queries(client, url):
    client.get(url)  # once first: a token's first use of the minute records its last use
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def when(hours):
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


# --- maintenance windows -------------------------------------------------------


def test_a_future_window_is_listed_off_with_its_start_as_next_then_cancelled(admin, service):
    start, end = when(2), when(4)
    response = admin.post("/api/v1/maintenance-windows", {
        "name": "Database upgrade", "services": [service.pk], "starts_at": start.isoformat(),
        "ends_at": end.isoformat(), "reason": "PostgreSQL 17"}, content_type=JSON)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["on_now"] is False and created["current"] is None
    assert datetime.fromisoformat(created["next"]["starts_at"]) == start
    listed = admin.get("/api/v1/maintenance-windows").json()
    assert [w["id"] for w in listed] == [created["id"]] and listed[0]["services"] == [service.pk]
    assert audited("alerts.maintenance.create") == 1

    cancelled = admin.post(f"/api/v1/maintenance-windows/{created['id']}/end")
    assert cancelled.status_code == 204
    assert not MaintenanceWindow.objects.exists() and audited("alerts.maintenance.cancel") == 1


def test_a_window_on_now_ends_early_and_drops_out_of_the_list(admin, service):
    ends = when(3)
    window = admin.post("/api/v1/maintenance-windows", {
        "name": "Failover test", "services": [service.pk], "starts_at": when(-1).isoformat(),
        "ends_at": ends.isoformat()}, content_type=JSON).json()
    assert window["on_now"] is True and window["next"] is None
    assert datetime.fromisoformat(window["current"]["ends_at"]) == ends

    ended = admin.post(f"/api/v1/maintenance-windows/{window['id']}/end")
    assert ended.status_code == 200 and ended.json()["on_now"] is False
    assert MaintenanceWindow.objects.get().ends_at <= timezone.now()
    assert audited("alerts.maintenance.end") == 1
    assert admin.get("/api/v1/maintenance-windows").json() == []
    assert [w["id"] for w in admin.get("/api/v1/maintenance-windows?include_past=true").json()] == [window["id"]]


def test_a_recurring_window_reads_local_time_and_names_its_next_occurrence(admin, service):
    paris = ZoneInfo("Europe/Paris")
    response = admin.post("/api/v1/maintenance-windows", {
        "name": "Sunday patching", "services": [service.pk], "starts_at": "2026-01-04T02:00:00",
        "ends_at": "2026-01-04T04:00:00", "time_zone": "Europe/Paris", "recurrence": "FREQ=WEEKLY;BYDAY=SU"},
        content_type=JSON)
    assert response.status_code == 201, response.content
    window = response.json()
    assert datetime.fromisoformat(window["starts_at"]) == datetime(2026, 1, 4, 1, 0, tzinfo=ZoneInfo("UTC"))
    now = timezone.now()
    local_day = now.astimezone(paris).date()
    upcoming = [datetime.combine(local_day + timedelta(days=n), time(2, 0), paris) for n in range(9)]
    expected = next(moment for moment in upcoming if moment.weekday() == 6 and moment > now)
    following = datetime.fromisoformat(window["next"]["starts_at"])
    assert following == expected
    assert datetime.fromisoformat(window["next"]["ends_at"]) - following == timedelta(hours=2)


@pytest.mark.parametrize("change, field", [
    ({"ends_at": "2026-01-01T00:00:00Z"}, "ends_at"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"recurrence": "FREQ=MINUTELY"}, "recurrence"),
    ({"services": [999999]}, "services"),
    ({"name": "   "}, "name"),
    ({"starts_at": "9999-12-31T23:00:00", "ends_at": "9999-12-31T23:30:00"}, "starts_at"),
    ({"services": [2**70]}, "services"),
])
def test_a_bad_window_names_the_field_and_creates_nothing(admin, service, change, field):
    body = {"name": "Upgrade", "services": [service.pk], "starts_at": "2026-02-01T00:00:00Z",
            "ends_at": "2026-02-01T02:00:00Z", **change}
    response = admin.post("/api/v1/maintenance-windows", body, content_type=JSON)
    assert response.status_code in (400, 422) and field in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_windows_are_changed_only_by_managers_of_every_service_they_cover(platform_manager, viewer, service,
                                                                           network):
    body = {"name": "Joint work", "services": [service.pk, network.pk], "starts_at": when(1).isoformat(),
            "ends_at": when(2).isoformat()}
    assert platform_manager.post("/api/v1/maintenance-windows", body, content_type=JSON).status_code == 403
    assert viewer.post("/api/v1/maintenance-windows", {**body, "services": [service.pk]},
                       content_type=JSON).status_code == 403
    assert not MaintenanceWindow.objects.exists()
    own = platform_manager.post("/api/v1/maintenance-windows", {**body, "services": [service.pk]}, content_type=JSON)
    assert own.status_code == 201

    ends = when(1)
    joint = create_window(actor=SYSTEM, name="Joint", services=[service, network], starts_at=when(-1), ends_at=ends)
    assert platform_manager.post(f"/api/v1/maintenance-windows/{joint.pk}/end").status_code == 403
    joint.refresh_from_db()
    assert joint.ends_at == ends
    assert len(viewer.get("/api/v1/maintenance-windows").json()) == 2
    assert AuditEntry.objects.filter(action="permission.denied").count() == 3


def test_listing_windows_costs_the_same_queries_for_few_or_many(admin, service, network):
    def add(count):
        for n in range(count):
            create_window(actor=SYSTEM, name=f"W{n}", services=[service, network], starts_at=when(n - 1),
                          ends_at=when(n + 1), recurrence="FREQ=DAILY" if n % 2 else "")
    add(2)
    few = queries(admin, "/api/v1/maintenance-windows")
    add(20)
    assert queries(admin, "/api/v1/maintenance-windows") == few
    assert len(admin.get("/api/v1/maintenance-windows").json()) == 22


# --- peak-hour rules -------------------------------------------------------------


def test_peak_hour_rules_are_created_listed_changed_and_deleted(admin, service):
    response = admin.post("/api/v1/suppression-rules", {
        "name": "Office hours", "severities": ["warning", "info"], "weekdays": [4, 0, 1, 2, 3],
        "start_time": "09:00", "end_time": "17:00", "time_zone": "Europe/Berlin"}, content_type=JSON)
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["service"] is None and rule["weekdays"] == [0, 1, 2, 3, 4] and rule["action"] == "record"
    assert [r["id"] for r in admin.get("/api/v1/suppression-rules").json()] == [rule["id"]]

    changed = admin.patch(f"/api/v1/suppression-rules/{rule['id']}", {
        "action": "hold", "service": service.pk, "end_time": "18:30"}, content_type=JSON)
    assert changed.status_code == 200, changed.content
    stored = SuppressionRule.objects.get()
    assert (stored.action, stored.service_id, stored.end_time, stored.start_time) == (
        "hold", service.pk, time(18, 30), time(9, 0))
    assert admin.get(f"/api/v1/suppression-rules/{rule['id']}").json()["end_time"] == "18:30"

    assert admin.delete(f"/api/v1/suppression-rules/{rule['id']}").status_code == 204
    assert not SuppressionRule.objects.exists()
    assert [audited(f"alerts.suppression_rule.{a}") for a in ("create", "update", "delete")] == [1, 1, 1]


@pytest.mark.parametrize("change, field", [
    ({"severities": ["fatal"]}, "severities"),
    ({"weekdays": [7]}, "weekdays"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"start_time": "25:00"}, "start_time"),
    ({"end_time": "noon"}, "end_time"),
    ({"action": "drop"}, "action"),
    ({"service": 999999}, "service"),
])
def test_a_bad_peak_hour_rule_names_the_field_and_creates_nothing(admin, change, field):
    body = {"name": "Nights", "start_time": "22:00", "end_time": "06:00", **change}
    response = admin.post("/api/v1/suppression-rules", body, content_type=JSON)
    assert response.status_code in (400, 422), response.content
    assert field in response.json()["detail"] if response.status_code == 400 else field in response.content.decode()
    assert not SuppressionRule.objects.exists()


def test_a_bad_change_names_the_field_and_keeps_the_rule(admin, service):
    rule = create_suppression_rule(actor=SYSTEM, name="Nights", start_time="22:00", end_time="06:00")
    response = admin.patch(f"/api/v1/suppression-rules/{rule.pk}", {"weekdays": [1, 9]}, content_type=JSON)
    assert response.status_code == 400 and "weekdays" in response.json()["errors"]
    rule.refresh_from_db()
    assert rule.weekdays == [] and audited("alerts.suppression_rule.update") == 0


def test_a_rule_for_every_service_needs_every_team(platform_manager, service, network):
    body = {"name": "Quiet", "start_time": "22:00", "end_time": "06:00"}
    assert platform_manager.post("/api/v1/suppression-rules", body, content_type=JSON).status_code == 403
    assert platform_manager.post("/api/v1/suppression-rules", {**body, "service": network.pk},
                                 content_type=JSON).status_code == 403
    assert not SuppressionRule.objects.exists()
    own = platform_manager.post("/api/v1/suppression-rules", {**body, "service": service.pk}, content_type=JSON)
    assert own.status_code == 201

    # Moving one's own rule onto another team's service, or to every service, is refused too.
    for target in (network.pk, None):
        moved = platform_manager.patch(f"/api/v1/suppression-rules/{own.json()['id']}", {"service": target},
                                       content_type=JSON)
        assert moved.status_code == 403
    assert SuppressionRule.objects.get().service_id == service.pk
    everyone = create_suppression_rule(actor=SYSTEM, name="Global", start_time="00:00", end_time="06:00")
    assert platform_manager.delete(f"/api/v1/suppression-rules/{everyone.pk}").status_code == 403
    assert SuppressionRule.objects.count() == 2


def test_listing_peak_hour_rules_costs_the_same_queries_for_few_or_many(admin, service):
    def add(count):
        for n in range(count):
            create_suppression_rule(actor=SYSTEM, name=f"R{n}", service=service if n % 2 else None,
                                    start_time="09:00", end_time="17:00")
    add(2)
    few = queries(admin, "/api/v1/suppression-rules")
    add(20)
    assert queries(admin, "/api/v1/suppression-rules") == few


# --- routing rules ----------------------------------------------------------------


def test_routing_rules_are_ordered_changed_and_deleted(admin, service, network):
    first = admin.post("/api/v1/routing-rules", {"name": "Databases", "service": service.pk,
                                                 "matchers": 'team="db", env=~"prod|staging"'}, content_type=JSON)
    assert first.status_code == 201, first.content
    assert first.json()["matchers"][1] == {"label": "env", "op": "=~", "value": "prod|staging"}
    second = admin.post("/api/v1/routing-rules", {"name": "Network", "service": network.pk,
                                                  "severities": ["critical"], "source_pattern": "core-.*"},
                        content_type=JSON).json()
    assert second["position"] > first.json()["position"]
    assert [r["name"] for r in admin.get("/api/v1/routing-rules").json()] == ["Databases", "Network"]

    moved = admin.patch(f"/api/v1/routing-rules/{second['id']}", {"position": 0, "enabled": False},
                        content_type=JSON)
    assert moved.status_code == 200 and moved.json()["enabled"] is False
    admin.patch(f"/api/v1/routing-rules/{first.json()['id']}", {"position": 5}, content_type=JSON)
    assert [r["name"] for r in admin.get("/api/v1/routing-rules").json()] == ["Network", "Databases"]

    assert admin.delete(f"/api/v1/routing-rules/{second['id']}").status_code == 204
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Databases"]
    assert [audited(f"alerts.routing_rule.{a}") for a in ("create", "update", "delete")] == [2, 2, 1]


@pytest.mark.parametrize("change, field", [
    ({"matchers": 'team=~"("'}, "matchers"),
    ({"matchers": "team"}, "matchers"),
    ({"severities": ["fatal"]}, "severities"),
    ({"source_pattern": "[unclosed"}, "source_pattern"),
    ({"service": 999999}, "service"),
    ({"service": 2**70}, "service"),
    ({"position": -1}, "position"),
])
def test_a_bad_routing_rule_names_the_field_and_creates_nothing(admin, service, change, field):
    body = {"name": "Databases", "service": service.pk, **change}
    response = admin.post("/api/v1/routing-rules", body, content_type=JSON)
    assert response.status_code in (400, 422) and field in response.content.decode(), response.content
    assert not RoutingRule.objects.exists()


def test_routing_rules_need_every_team(platform_manager, viewer, service):
    body = {"name": "Everything", "service": service.pk}
    assert platform_manager.post("/api/v1/routing-rules", body, content_type=JSON).status_code == 403
    rule = services_rules.create_routing_rule(actor=SYSTEM, name="Existing", service=service)
    assert platform_manager.patch(f"/api/v1/routing-rules/{rule.pk}", {"enabled": False},
                                  content_type=JSON).status_code == 403
    assert viewer.delete(f"/api/v1/routing-rules/{rule.pk}").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled and RoutingRule.objects.count() == 1
    assert len(viewer.get("/api/v1/routing-rules").json()) == 1


# --- inhibition rules -------------------------------------------------------------


def test_inhibition_rules_are_created_changed_and_deleted(admin):
    response = admin.post("/api/v1/inhibition-rules", {
        "name": "Datacenter down silences its hosts", "source_matchers": 'alertname="DatacenterDown"',
        "target_matchers": [{"label": "severity", "op": "=~", "value": "warning|info"}], "equal": ["dc"]},
        content_type=JSON)
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["source_text"] == '{alertname="DatacenterDown"}' and rule["equal"] == ["dc"]
    assert len(admin.get("/api/v1/inhibition-rules").json()) == 1
    changed = admin.patch(f"/api/v1/inhibition-rules/{rule['id']}", {"equal": ["dc", "region"], "enabled": False},
                          content_type=JSON).json()
    assert changed["equal"] == ["dc", "region"] and changed["enabled"] is False
    assert admin.delete(f"/api/v1/inhibition-rules/{rule['id']}").status_code == 204
    assert not InhibitionRule.objects.exists()
    assert [audited(f"alerts.inhibition_rule.{a}") for a in ("create", "update", "delete")] == [1, 1, 1]


@pytest.mark.parametrize("change, field", [
    ({"source_matchers": ""}, "source_matchers"),
    ({"target_matchers": 'severity=~"(warning"'}, "target_matchers"),
    ({"equal": ["not a label"]}, "equal"),
])
def test_a_bad_inhibition_rule_names_the_field_and_creates_nothing(admin, change, field):
    body = {"name": "Silence", "source_matchers": 'alertname="Down"', "target_matchers": 'severity="info"', **change}
    response = admin.post("/api/v1/inhibition-rules", body, content_type=JSON)
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert not InhibitionRule.objects.exists()


def test_inhibition_rules_need_every_team(platform_manager, service):
    body = {"name": "Silence", "source_matchers": 'alertname="Down"', "target_matchers": 'severity="info"'}
    assert platform_manager.post("/api/v1/inhibition-rules", body, content_type=JSON).status_code == 403
    rule = services_rules.create_inhibition_rule(actor=SYSTEM, **body)
    assert platform_manager.delete(f"/api/v1/inhibition-rules/{rule.pk}").status_code == 403
    assert InhibitionRule.objects.count() == 1


def test_listing_routing_and_inhibition_rules_costs_the_same_queries_for_few_or_many(admin, service, network):
    def add(count):
        for n in range(count):
            services_rules.create_routing_rule(actor=SYSTEM, name=f"R{n}", service=service if n % 2 else network,
                                               matchers=f'team="t{n}"')
            services_rules.create_inhibition_rule(actor=SYSTEM, name=f"I{n}", source_matchers=f'alertname="A{n}"',
                                                  target_matchers='severity="info"')
    add(2)
    few = queries(admin, "/api/v1/routing-rules"), queries(admin, "/api/v1/inhibition-rules")
    add(20)
    assert (queries(admin, "/api/v1/routing-rules"), queries(admin, "/api/v1/inhibition-rules")) == few


# --- outbound webhooks ------------------------------------------------------------


def test_a_webhook_shows_its_secret_once_and_is_deleted(admin, service):
    response = admin.post("/api/v1/outbound-webhooks", {
        "name": "SIEM", "url": "https://siem.example.org/hooks/tocsin", "events": ["triggered", "resolved"],
        "services": [service.pk], "security_only": True}, content_type=JSON)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and OutboundWebhook.objects.get().secret == created["secret"]
    listed = admin.get("/api/v1/outbound-webhooks")
    assert created["secret"] not in listed.content.decode()
    assert listed.json()[0]["services"] == [service.pk] and listed.json()[0]["security_only"] is True
    assert listed.json()[0]["events"] == ["triggered", "resolved"]
    assert admin.delete(f"/api/v1/outbound-webhooks/{created['id']}").status_code == 204
    assert not OutboundWebhook.objects.exists()
    assert (audited("alerts.webhook.create"), audited("alerts.webhook.delete")) == (1, 1)


@pytest.mark.parametrize("change, field", [
    ({"url": "ftp://files.example.org/"}, "url"),
    ({"url": "https://user:pw@siem.example.org/"}, "url"),
    ({"events": ["incident.exploded"]}, "events"),
    ({"services": [999999]}, "services"),
    ({"name": ""}, "name"),
])
def test_a_bad_webhook_names_the_field_and_creates_nothing(admin, change, field):
    body = {"name": "SIEM", "url": "https://siem.example.org/hook", **change}
    response = admin.post("/api/v1/outbound-webhooks", body, content_type=JSON)
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert not OutboundWebhook.objects.exists()


def test_webhooks_are_for_administrators_only(platform_manager, service):
    body = {"name": "SIEM", "url": "https://siem.example.org/hook"}
    assert platform_manager.post("/api/v1/outbound-webhooks", body, content_type=JSON).status_code == 403
    webhook, _ = create_webhook("Ticketing", "https://tickets.example.org/hook", actor=SYSTEM)
    assert platform_manager.get("/api/v1/outbound-webhooks").status_code == 403
    assert platform_manager.delete(f"/api/v1/outbound-webhooks/{webhook.pk}").status_code == 403
    assert list(OutboundWebhook.objects.values_list("name", flat=True)) == ["Ticketing"]


def test_listing_webhooks_costs_the_same_queries_for_few_or_many(admin, service, network):
    def add(count):
        for n in range(count):
            create_webhook(f"H{n}", f"https://h{n}.example.org/", actor=SYSTEM, services=[service, network])
    add(2)
    few = queries(admin, "/api/v1/outbound-webhooks")
    add(20)
    assert queries(admin, "/api/v1/outbound-webhooks") == few
