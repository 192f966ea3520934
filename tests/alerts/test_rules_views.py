"""The alert rules page with the Django test client: each section lists, creates, switches off or
ends, and deletes through its form (POST with CSRF); bad input is shown under its field; those
without the permission get 403 and nothing changes; webhooks are for administrators, their secret
shown once; and the page costs the same number of queries whatever the number of rows."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.alerts import services_rules
from tocsin.alerts.models import InhibitionRule, MaintenanceWindow, OutboundWebhook, RoutingRule, SuppressionRule
from tocsin.alerts.services_maintenance import create_window
from tocsin.alerts.services_outbound import create_webhook
from tocsin.alerts.services_suppression import create_suppression_rule
from tocsin.core.models import AuditEntry

from .conftest import SYSTEM

PAGE = "/alerts/rules/"


@pytest.fixture
def admin(login, make_user):
    return login(make_user("root", roles=["admin"]))


@pytest.fixture
def network(make_service):
    return make_service("Core network", team="Network")


@pytest.fixture
def owner(login, make_user, service):
    """Manages the Platform team's services only."""
    return login(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]))


@pytest.fixture
def viewer(login, make_user, service):
    return login(make_user("vic", roles=["viewer"]))


def rows(response, attribute):
    return [int(n) for n in re.findall(rf'data-{attribute}="(\d+)"', response.content.decode())]


def field_errors(response, name):
    """The error text shown under a form field `name` (several forms may have one: the first with errors)."""
    html = response.content.decode()
    found = re.findall(rf'<div data-field="{name}">(.*?)(?:<div data-field=|<div class="actions">)', html, re.S)
    assert found, f"no field {name} on the page"
    for block in found:
        errors = re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', block, re.S)
        if errors:
            return unescape(re.sub(r"<[^>]+>", " ", errors.group(1))).strip()
    return ""


def local(moment):
    return moment.strftime("%Y-%m-%dT%H:%M")


def when(hours):
    return (timezone.now() + timedelta(hours=hours)).replace(second=0, microsecond=0)


def test_the_alerts_list_links_to_the_rules_page(viewer):
    assert 'href="/alerts/rules/"' in viewer.get("/alerts/").content.decode()


def test_a_viewer_sees_the_rules_but_no_forms_and_no_webhooks(viewer, service):
    create_suppression_rule(actor=SYSTEM, name="Office hours", start_time="09:00", end_time="17:00",
                            severities=["info"], weekdays=[0, 1])
    create_webhook("SIEM", "https://siem.example.org/hook", actor=SYSTEM)
    response = viewer.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200 and "Office hours" in html and "Mon, Tue" in html
    assert 'action="/alerts/rules/maintenance/"' not in html and "Switch off" not in html
    assert 'id="webhooks"' not in html and "siem.example.org" not in html


# --- maintenance windows ---------------------------------------------------------


def test_a_window_planned_in_a_zone_is_on_now_and_ends_early(admin, service, network):
    start, end = when(-1), when(2)
    response = admin.post(f"{PAGE}maintenance/", {
        "name": "Core switch swap", "services": [service.pk, network.pk], "time_zone": "Asia/Tokyo",
        "starts_at": local(start.astimezone(timezone.get_fixed_timezone(9 * 60))),
        "ends_at": local(end.astimezone(timezone.get_fixed_timezone(9 * 60))), "reason": "hardware"})
    assert response.status_code == 302, response.content.decode()[:2000]
    window = MaintenanceWindow.objects.get()
    assert (window.starts_at, window.ends_at, window.time_zone) == (start, end, "Asia/Tokyo")
    assert sorted(window.services.values_list("pk", flat=True)) == sorted([service.pk, network.pk])
    page = admin.get(PAGE).content.decode()
    assert rows(admin.get(PAGE), "window") == [window.pk] and 'data-testid="on-now"' in page and "End now" in page

    ended = admin.post(f"{PAGE}maintenance/{window.pk}/end/", follow=True)
    assert "is ended" in ended.content.decode()
    window.refresh_from_db()
    assert window.ends_at <= timezone.now()
    assert rows(ended, "window") == []
    assert [AuditEntry.objects.filter(action=f"alerts.maintenance.{a}").count() for a in ("create", "end")] == [1, 1]


def test_a_recurring_window_shows_its_next_occurrence_and_can_be_cancelled(admin, service):
    response = admin.post(f"{PAGE}maintenance/", {
        "name": "Patch night", "services": [service.pk], "time_zone": "UTC", "starts_at": local(when(3)),
        "ends_at": local(when(4)), "recurrence": "FREQ=DAILY"})
    assert response.status_code == 302
    page = admin.get(PAGE).content.decode()
    assert re.search(r'data-testid="next">' + re.escape(when(3).strftime("%Y-%m-%d %H:%M")), page)
    window = MaintenanceWindow.objects.get()
    assert "Cancel" in page
    admin.post(f"{PAGE}maintenance/{window.pk}/end/")
    assert not MaintenanceWindow.objects.exists()
    assert AuditEntry.objects.filter(action="alerts.maintenance.cancel").count() == 1


@pytest.mark.parametrize("change, field, message", [
    ({"ends_at": "2026-01-01T00:00"}, "ends_at", "after the start"),
    ({"recurrence": "FREQ=SECONDLY"}, "recurrence", "hourly"),
    ({"services": []}, "services", "required"),
    ({"starts_at": "yesterday"}, "starts_at", "valid"),
    ({"starts_at": "9999-12-31T23:00", "ends_at": "9999-12-31T23:30", "recurrence": "FREQ=DAILY"},
     "starts_at", "years"),
])
def test_a_bad_window_is_shown_under_its_field(admin, service, change, field, message):
    data = {"name": "Upgrade", "services": [service.pk], "time_zone": "UTC", "starts_at": "2026-02-01T10:00",
            "ends_at": "2026-02-01T12:00", **change}
    response = admin.post(f"{PAGE}maintenance/", data)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not MaintenanceWindow.objects.exists()


def test_a_window_over_another_teams_service_is_refused(owner, viewer, service, network):
    data = {"name": "Joint work", "services": [service.pk, network.pk], "time_zone": "UTC",
            "starts_at": local(when(1)), "ends_at": local(when(2))}
    assert owner.post(f"{PAGE}maintenance/", data).status_code == 403
    assert viewer.post(f"{PAGE}maintenance/", {**data, "services": [service.pk]}).status_code == 403
    assert not MaintenanceWindow.objects.exists()
    ends = when(1)
    joint = create_window(actor=SYSTEM, name="Joint", services=[service, network], starts_at=when(-1), ends_at=ends)
    assert "End now" not in owner.get(PAGE).content.decode()
    assert owner.post(f"{PAGE}maintenance/{joint.pk}/end/").status_code == 403
    joint.refresh_from_db()
    assert joint.ends_at == ends
    assert owner.post(f"{PAGE}maintenance/", {**data, "services": [service.pk]}).status_code == 302


# --- peak-hour rules ---------------------------------------------------------------


def test_a_peak_hour_rule_is_added_switched_off_and_deleted(owner, service):
    response = owner.post(f"{PAGE}peak-hours/", {
        "name": "Office hours", "service": service.pk, "severities": ["warning", "info"],
        "weekdays": ["0", "1", "2", "3", "4"], "start_time": "09:00", "end_time": "17:00",
        "time_zone": "Europe/Berlin", "action": "hold"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = SuppressionRule.objects.get()
    assert (rule.service_id, rule.severities, rule.weekdays, rule.action) == (
        service.pk, ["warning", "info"], [0, 1, 2, 3, 4], "hold")
    assert rows(owner.get(PAGE), "peak-rule") == [rule.pk]
    owner.post(f"{PAGE}peak-hours/{rule.pk}/toggle/")
    rule.refresh_from_db()
    assert rule.enabled is False
    owner.post(f"{PAGE}peak-hours/{rule.pk}/delete/")
    assert not SuppressionRule.objects.exists()
    assert [AuditEntry.objects.filter(action=f"alerts.suppression_rule.{a}").count()
            for a in ("create", "update", "delete")] == [1, 1, 1]


def test_a_bad_peak_hour_rule_is_shown_under_its_field(admin):
    response = admin.post(f"{PAGE}peak-hours/", {"name": "Nights", "start_time": "25:00", "end_time": "06:00",
                                                 "time_zone": "UTC", "action": "record", "weekdays": ["8"]})
    assert response.status_code == 400
    assert field_errors(response, "start_time") and field_errors(response, "weekdays")
    assert not SuppressionRule.objects.exists()


def test_a_peak_hour_rule_for_every_service_needs_every_team(owner, admin, service, network):
    data = {"name": "Quiet nights", "start_time": "22:00", "end_time": "06:00", "time_zone": "UTC",
            "action": "record"}
    assert owner.post(f"{PAGE}peak-hours/", data).status_code == 403
    assert owner.post(f"{PAGE}peak-hours/", {**data, "service": network.pk}).status_code == 403
    assert not SuppressionRule.objects.exists()
    assert admin.post(f"{PAGE}peak-hours/", data).status_code == 302
    rule = SuppressionRule.objects.get()
    assert owner.post(f"{PAGE}peak-hours/{rule.pk}/toggle/").status_code == 403
    assert owner.post(f"{PAGE}peak-hours/{rule.pk}/delete/").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled and rule.service_id is None


# --- routing and inhibition rules ---------------------------------------------------


def test_routing_rules_are_added_in_order_switched_off_and_deleted(admin, service, network):
    admin.post(f"{PAGE}routing/", {"name": "Network", "service": network.pk, "matchers": 'team="net"',
                                   "position": "3"})
    response = admin.post(f"{PAGE}routing/", {"name": "Databases", "service": service.pk, "position": "0",
                                              "matchers": 'team="db", env=~"prod|staging"',
                                              "severities": ["critical", "error"], "source_pattern": "db-.*"})
    assert response.status_code == 302
    first = RoutingRule.objects.get(name="Databases")
    assert first.matchers == [{"label": "team", "op": "=", "value": "db"},
                              {"label": "env", "op": "=~", "value": "prod|staging"}]
    page = admin.get(PAGE)
    assert rows(page, "routing-rule") == [first.pk, RoutingRule.objects.get(name="Network").pk]
    assert unescape('{team=&quot;db&quot;, env=~&quot;prod|staging&quot;}') in unescape(page.content.decode())
    admin.post(f"{PAGE}routing/{first.pk}/toggle/")
    first.refresh_from_db()
    assert first.enabled is False
    admin.post(f"{PAGE}routing/{first.pk}/delete/")
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["Network"]
    assert [AuditEntry.objects.filter(action=f"alerts.routing_rule.{a}").count()
            for a in ("create", "update", "delete")] == [2, 1, 1]


def test_bad_matchers_are_shown_under_their_field(admin, service):
    response = admin.post(f"{PAGE}routing/", {"name": "Databases", "service": service.pk, "matchers": 'team=~"("'})
    assert response.status_code == 400 and "matcher" in field_errors(response, "matchers").lower()
    response = admin.post(f"{PAGE}inhibition/", {"name": "Silence", "source_matchers": 'alertname="Down',
                                                 "target_matchers": 'severity="info"'})
    assert response.status_code == 400 and "not closed" in field_errors(response, "source_matchers")
    assert not RoutingRule.objects.exists() and not InhibitionRule.objects.exists()


def test_inhibition_rules_are_added_switched_off_and_deleted(admin):
    response = admin.post(f"{PAGE}inhibition/", {
        "name": "Datacenter down", "source_matchers": 'alertname="DatacenterDown"',
        "target_matchers": '{severity=~"warning|info"}', "equal": "dc, region"})
    assert response.status_code == 302
    rule = InhibitionRule.objects.get()
    assert rule.equal == ["dc", "region"]
    assert rows(admin.get(PAGE), "inhibition-rule") == [rule.pk]
    admin.post(f"{PAGE}inhibition/{rule.pk}/toggle/")
    rule.refresh_from_db()
    assert rule.enabled is False
    admin.post(f"{PAGE}inhibition/{rule.pk}/delete/")
    assert not InhibitionRule.objects.exists()
    assert AuditEntry.objects.filter(action__startswith="alerts.inhibition_rule.").count() == 3


def test_global_rules_need_every_team(owner, service):
    assert owner.post(f"{PAGE}routing/", {"name": "All", "service": service.pk}).status_code == 403
    assert owner.post(f"{PAGE}inhibition/", {"name": "Silence", "source_matchers": 'a="b"',
                                             "target_matchers": 'c="d"'}).status_code == 403
    routing = services_rules.create_routing_rule(actor=SYSTEM, name="Existing", service=service)
    inhibition = services_rules.create_inhibition_rule(actor=SYSTEM, name="Existing", source_matchers='a="b"',
                                                       target_matchers='c="d"')
    assert owner.post(f"{PAGE}routing/{routing.pk}/delete/").status_code == 403
    assert owner.post(f"{PAGE}inhibition/{inhibition.pk}/toggle/").status_code == 403
    assert RoutingRule.objects.count() == 1 and InhibitionRule.objects.get().enabled


# --- outbound webhooks ---------------------------------------------------------------


def test_an_administrator_adds_a_webhook_and_sees_its_secret_once(admin, service):
    response = admin.post(f"{PAGE}webhooks/", {"name": "SIEM", "url": "https://siem.example.org/hook",
                                               "events": ["triggered"], "services": [service.pk],
                                               "security_only": "on"})
    assert response.status_code == 200
    secret = re.search(r'data-testid="webhook-secret">([^<]+)<', response.content.decode()).group(1)
    webhook = OutboundWebhook.objects.get()
    assert webhook.secret == secret and webhook.security_only and webhook.events == ["triggered"]
    assert "no-store" in response["Cache-Control"]
    page = admin.get(PAGE)
    assert rows(page, "webhook") == [webhook.pk] and secret not in page.content.decode()
    admin.post(f"{PAGE}webhooks/{webhook.pk}/delete/")
    assert not OutboundWebhook.objects.exists()
    assert AuditEntry.objects.filter(action__startswith="alerts.webhook.").count() == 2


def test_a_bad_webhook_url_is_shown_under_its_field(admin):
    response = admin.post(f"{PAGE}webhooks/", {"name": "SIEM", "url": "ftp://files.example.org/"})
    assert response.status_code == 400 and "http" in field_errors(response, "url")
    assert not OutboundWebhook.objects.exists()


def test_webhooks_are_for_administrators_only(owner):
    assert owner.post(f"{PAGE}webhooks/", {"name": "SIEM", "url": "https://siem.example.org/hook"}).status_code == 403
    webhook, _ = create_webhook("Tickets", "https://tickets.example.org/", actor=SYSTEM)
    assert owner.post(f"{PAGE}webhooks/{webhook.pk}/delete/").status_code == 403
    assert OutboundWebhook.objects.count() == 1


# --- CSRF and query counts -------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(make_user, service):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("root", roles=["admin"]))
    page = strict.get(PAGE).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 5
    response = strict.post(f"{PAGE}inhibition/", {"name": "Silence", "source_matchers": 'a="b"',
                                                  "target_matchers": 'c="d"'})
    assert response.status_code == 403 and not InhibitionRule.objects.exists()


def test_the_page_costs_the_same_queries_for_few_or_many_rows(admin, service, network):
    def add(count):
        for n in range(count):
            create_window(actor=SYSTEM, name=f"W{n}", services=[service, network], starts_at=when(n - 1),
                          ends_at=when(n + 1), recurrence="FREQ=WEEKLY" if n % 2 else "")
            create_suppression_rule(actor=SYSTEM, name=f"P{n}", service=service if n % 2 else None,
                                    start_time="09:00", end_time="17:00", weekdays=[0, 4])
            services_rules.create_routing_rule(actor=SYSTEM, name=f"R{n}", service=network, matchers=f'team="t{n}"')
            services_rules.create_inhibition_rule(actor=SYSTEM, name=f"I{n}", source_matchers=f'a="{n}"',
                                                  target_matchers='severity="info"')
            create_webhook(f"H{n}", f"https://h{n}.example.org/", actor=SYSTEM, services=[service])

    def count():
        admin.get(PAGE)
        with CaptureQueriesContext(connection) as captured:
            response = admin.get(PAGE)
        assert response.status_code == 200
        return len(captured), response
    add(2)
    few, _ = count()
    add(15)
    many, response = count()
    assert many == few
    assert len(rows(response, "window")) == 17 and len(rows(response, "webhook")) == 17
