"""Global routing rules (E3): integrations bound to no service send each alert to the first
matching rule's service; the rules are kept in process and re-read now and then."""

import asyncio
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.alerts import routing, services_rules
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, RoutingRule
from tocsin.core.audit import Actor
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import Incident

SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def _no_rules_in_hand():
    routing.forget()
    yield
    routing.forget()


@pytest.fixture
def database(make_service):
    return make_service("Database", team="DBA")


@pytest.fixture
def web(make_service):
    return make_service("Web", team="Web team")


def event(severity="error", source="host-1", **labels):
    return Event(action="trigger", dedup_key="k", severity=severity, summary="s", source=source, labels=labels)


def rule(service, name="rule", **fields):
    return services_rules.create_routing_rule(actor=SYSTEM, name=name, service=service, **fields)


def drain_background_reads():
    routing._pool.submit(lambda: None).result()


def test_rules_are_tried_in_order_and_the_first_match_wins(db, database, web):
    rule(web, "web team", matchers='team="web"')
    rule(database, "databases", matchers='team=~"db|dba"')
    rule(web, "everything else")  # no conditions: catches the rest
    assert routing.route(event(team="db")) == database.pk
    assert routing.route(event(team="web")) == web.pk
    assert routing.route(event(team="search")) == web.pk
    assert list(RoutingRule.objects.values_list("position", flat=True)) == [0, 1, 2]


def test_a_rule_earlier_by_position_wins_whatever_its_age(db, database, web):
    rule(web, "catch-all", position=50)
    rule(database, "critical first", severities=["critical"], position=10)
    assert routing.route(event("critical")) == database.pk
    assert routing.route(event("warning")) == web.pk


def test_severities_and_the_anchored_source_pattern_must_all_agree(db, database):
    rule(database, "critical db hosts", severities=["critical", "error"], source_pattern=r"db-\d+",
         matchers='env="prod"')
    assert routing.route(event("critical", "db-12", env="prod")) == database.pk
    assert routing.route(event("warning", "db-12", env="prod")) is None
    assert routing.route(event("critical", "prod-db-12", env="prod")) is None  # anchored, like matchers
    assert routing.route(event("critical", "db-12", env="staging")) is None


def test_no_match_and_disabled_rules_route_nowhere(db, database):
    rule(database, "off", matchers='team="db"', enabled=False)
    assert routing.route(event(team="db")) is None


def test_a_rule_stored_broken_is_skipped_not_fatal(db, database, web):
    RoutingRule.objects.create(name="broken", service=database, position=0,
                               matchers=[{"label": "team", "op": "=~", "value": "("}])
    rule(web, "fine", matchers='team="db"')
    assert routing.route(event(team="db")) == web.pk


def test_a_warm_table_routes_without_touching_the_database(db, database):
    rule(database, "db", matchers='team="db"')
    routing.route(event(team="db"))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            assert routing.route(event(team="db")) == database.pk
    assert len(queries) == 0


def test_rules_in_hand_serve_until_forgotten(db, database, web):
    rule(database, "db", matchers='team="db"')
    assert routing.route(event(team="db")) == database.pk
    RoutingRule.objects.update(service=web)  # changed behind the use cases' back: not seen yet
    assert routing.route(event(team="db")) == database.pk
    routing.forget()
    assert routing.route(event(team="db")) == web.pk


def test_a_use_case_change_is_seen_once_it_commits(db, database, web, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = rule(database, "db", matchers='team="db"')
    assert routing.route(event(team="db")) == database.pk
    with django_capture_on_commit_callbacks(execute=True):
        services_rules.update_routing_rule(first, actor=SYSTEM, service=web)
    assert routing.route(event(team="db")) == web.pk
    with django_capture_on_commit_callbacks(execute=True):
        services_rules.delete_routing_rule(first, actor=SYSTEM)
    assert routing.route(event(team="db")) is None


def test_stale_rules_answer_while_a_worker_re_reads_them(transactional_db, database, web):
    rule(database, "db", matchers='team="db"')
    assert routing.route(event(team="db")) == database.pk
    RoutingRule.objects.update(service=web)
    routing.table._read_at = time.monotonic() - routing.FRESH_SECONDS - 1  # as if read a while ago
    assert routing.route(event(team="db")) == database.pk  # answered from memory at once...
    drain_background_reads()
    assert routing.route(event(team="db")) == web.pk  # ...while the worker read the change


def test_rules_too_old_to_trust_are_read_before_answering(transactional_db, database, web):
    rule(database, "db", matchers='team="db"')
    routing.route(event(team="db"))
    RoutingRule.objects.update(service=web)
    routing.table._read_at = time.monotonic() - routing.STALE_SECONDS - 1
    assert routing.route(event(team="db")) == web.pk


def test_on_the_event_loop_the_read_happens_in_a_worker_thread(transactional_db, database):
    rule(database, "db", matchers='team="db"')

    async def on_the_loop():
        return routing.route(event(team="db"))  # Django refuses database work on the loop itself
    assert asyncio.run(on_the_loop()) == database.pk


def test_a_failed_read_routes_nowhere_and_is_retried_soon(db, database, monkeypatch):
    rule(database, "db", matchers='team="db"')

    def broken():
        raise RuntimeError("database unavailable")
    monkeypatch.setattr(routing, "read_routes", broken)
    assert routing.route(event(team="db")) is None
    monkeypatch.undo()
    assert routing.route(event(team="db")) is None  # no new read during the pause after a failure
    routing.table._retry_at = time.monotonic()  # the pause has passed
    assert routing.route(event(team="db")) == database.pk


def test_routing_rules_are_checked_naming_the_field(db, database):
    cases = [
        ({"name": ""}, "name", "name"),
        ({"matchers": 'team=~"("'}, "matchers", "invalid regular expression"),
        ({"severities": ["fatal"]}, "severities", "Unknown severity 'fatal'"),
        ({"source_pattern": "db-("}, "source_pattern", "Not a valid regular expression"),
        ({"position": -1}, "position", "whole number"),
        ({"service": 987654}, "service", "existing service"),
        ({"enabled": "yes"}, "enabled", "true or false"),
    ]
    for change, field, fragment in cases:
        values = {"name": "r", "service": database, **change}
        with pytest.raises(ValidationError) as raised:
            services_rules.create_routing_rule(actor=SYSTEM, **values)
        assert fragment in raised.value.message_dict[field][0]
    assert not RoutingRule.objects.exists()


def test_routing_rule_changes_are_audited(db, database, web):
    created = rule(database, "db", matchers=[{"label": "team", "op": "=", "value": "db"}], severities=["error",
                                                                                                       "critical"])
    assert created.severities == ["critical", "error"]
    services_rules.update_routing_rule(created, actor=SYSTEM, service=web.pk, position=7)
    services_rules.delete_routing_rule(created, actor=SYSTEM)
    entries = list(AuditEntry.objects.filter(action__startswith="alerts.routing_rule").order_by("seq"))
    assert [e.action for e in entries] == ["alerts.routing_rule.create", "alerts.routing_rule.update",
                                           "alerts.routing_rule.delete"]
    assert entries[0].summary["matchers"] == '{team="db"}'
    assert entries[1].summary == {"service": {"from": database.pk, "to": web.pk}, "position": {"from": 0, "to": 7}}


def alertmanager_group(team, fingerprint):
    return {"version": "4", "status": "firing", "receiver": "tocsin", "groupKey": f'{{}}:{{team="{team}"}}',
            "groupLabels": {"team": team}, "commonLabels": {"team": team}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "team": team, "severity": "critical",
                                                       "instance": "db-1:9100"},
                        "annotations": {"summary": "Disk full"}, "startsAt": "2026-03-02T09:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph",
                        "fingerprint": fingerprint}]}


def test_an_organisation_wide_endpoint_routes_each_alert_end_to_end(ingest, integration, database, processed):
    rule(database, "databases", matchers='team="db", severity="critical"')
    _, key = integration("alertmanager", on=None, name="Organisation Alertmanager")
    assert ingest.post(f"/integrations/{key}/alertmanager", json=alertmanager_group("db", "aaa1")).status_code == 202
    assert ingest.post(f"/integrations/{key}/alertmanager", json=alertmanager_group("web", "bbb2")).status_code == 202
    processed()
    routed, unrouted = Alert.objects.get(dedup_key="aaa1"), Alert.objects.get(dedup_key="bbb2")
    assert routed.service == database and routed.handling == Alert.PAGED
    assert Incident.objects.get().service == database
    assert unrouted.service is None and unrouted.handling == Alert.UNROUTED and unrouted.incident is None
