"""Inhibition rules (E2): an open source alert keeps matching target alerts from paging."""

from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from tocsin.alerts import processing, services_rules, store
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, InhibitionRule
from tocsin.core.audit import Actor
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import Incident

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("test")
pytestmark = pytest.mark.django_db


def fire(service, dedup_key, severity="warning", **labels):
    return Event(action="trigger", dedup_key=dedup_key, severity=severity, summary=dedup_key, source="prometheus",
                 labels=labels, service_id=service.pk)


def resolved(service, dedup_key):
    return Event(action="resolve", dedup_key=dedup_key, service_id=service.pk)


def run(events, at):
    store.store_events(events, at)
    while processing.process(at):
        pass


def alert(dedup_key):
    return Alert.objects.filter(dedup_key=dedup_key).latest("id")


@pytest.fixture
def node_down(db):
    return services_rules.create_inhibition_rule(
        actor=SYSTEM, name="Node down hides its warnings", source_matchers='alertname="NodeDown"',
        target_matchers='severity=~"warning|info"', equal=["instance"])


@pytest.fixture
def two_services(make_service):
    return make_service("Hosts", team="Infrastructure"), make_service("Payments", team="Payments team")


def test_an_open_source_alert_suppresses_matching_targets_on_any_service(node_down, two_services):
    hosts, payments = two_services
    run([fire(hosts, "node-db-1", "critical", alertname="NodeDown", instance="db-1")], T0)
    run([fire(payments, "latency-db-1", alertname="HighLatency", instance="db-1"),
         fire(payments, "latency-db-2", alertname="HighLatency", instance="db-2"),
         fire(payments, "errors-db-1", "critical", alertname="Errors", instance="db-1")], T0 + timedelta(minutes=1))
    hidden = alert("latency-db-1")
    assert hidden.handling == Alert.SUPPRESSED and hidden.incident is None
    assert hidden.reason == "inhibited by Node down hides its warnings (alert node-db-1)"
    assert alert("latency-db-2").handling == Alert.PAGED  # another instance: `equal` disagrees
    assert alert("errors-db-1").handling == Alert.PAGED  # critical: not a target
    # Recorded and queryable all the same.
    assert Alert.objects.filter(handling=Alert.SUPPRESSED, reason__startswith="inhibited by").count() == 1
    assert Incident.objects.count() == 3


def test_once_the_source_resolves_targets_page_again(node_down, two_services):
    hosts, payments = two_services
    run([fire(hosts, "node-db-1", "critical", alertname="NodeDown", instance="db-1")], T0)
    run([resolved(hosts, "node-db-1")], T0 + timedelta(minutes=1))
    run([fire(payments, "latency-db-1", alertname="HighLatency", instance="db-1")], T0 + timedelta(minutes=2))
    assert alert("latency-db-1").handling == Alert.PAGED


def test_an_alert_matching_both_sides_does_not_inhibit_itself(two_services):
    hosts, _ = two_services
    services_rules.create_inhibition_rule(actor=SYSTEM, name="One outage per cluster",
                                          source_matchers='severity="critical"', target_matchers='severity=~".+"',
                                          equal=["cluster"])
    run([fire(hosts, "first", "critical", cluster="eu")], T0)
    assert alert("first").handling == Alert.PAGED
    run([fire(hosts, "second", "critical", cluster="eu")], T0 + timedelta(minutes=1))
    assert alert("second").handling == Alert.SUPPRESSED  # the first is open: it inhibits the second
    assert alert("second").reason.endswith("(alert first)")


def test_equal_labels_missing_on_both_sides_count_as_equal(two_services):
    hosts, payments = two_services
    services_rules.create_inhibition_rule(actor=SYSTEM, name="Datacentre down", source_matchers='alertname="DCDown"',
                                          target_matchers='alertname!="DCDown"', equal=["datacenter"])
    run([fire(hosts, "dc", "critical", alertname="DCDown")], T0)
    run([fire(payments, "no-dc", alertname="Latency"), fire(payments, "dc-2", alertname="Latency", datacenter="2")],
        T0 + timedelta(minutes=1))
    assert alert("no-dc").handling == Alert.SUPPRESSED
    assert alert("dc-2").handling == Alert.PAGED


def test_matchers_see_the_alert_fields_and_service_as_labels(two_services):
    hosts, payments = two_services
    services_rules.create_inhibition_rule(
        actor=SYSTEM, name="Hosts critical", source_matchers=f'service="{hosts.slug}", severity="critical"',
        target_matchers=f'service="{payments.slug}", source="prometheus"', equal=["__name__"])
    run([fire(hosts, "host-down", "critical", __name__="up")], T0)
    run([fire(payments, "slow", __name__="up"), fire(payments, "other", __name__="http_requests")],
        T0 + timedelta(minutes=1))
    assert alert("slow").handling == Alert.SUPPRESSED and alert("other").handling == Alert.PAGED


def test_label_values_that_are_not_strings_compare_as_text(node_down, two_services):
    hosts, payments = two_services
    run([fire(hosts, "node-7", "critical", alertname="NodeDown", instance=7)], T0)
    run([fire(payments, "latency-7", alertname="HighLatency", instance="7")], T0 + timedelta(minutes=1))
    assert alert("latency-7").handling == Alert.SUPPRESSED


def test_a_disabled_rule_inhibits_nothing(node_down, two_services):
    hosts, payments = two_services
    services_rules.update_inhibition_rule(node_down, actor=SYSTEM, enabled=False)
    run([fire(hosts, "node-db-1", "critical", alertname="NodeDown", instance="db-1")], T0)
    run([fire(payments, "latency-db-1", alertname="HighLatency", instance="db-1")], T0 + timedelta(minutes=1))
    assert alert("latency-db-1").handling == Alert.PAGED


def test_a_rule_stored_broken_is_skipped_and_the_others_still_apply(node_down, two_services):
    hosts, payments = two_services
    InhibitionRule.objects.create(name="broken", source_matchers=[{"label": "x", "op": "=~", "value": "("}],
                                  target_matchers=[{"label": "x", "op": "=~", "value": ".*"}])
    run([fire(hosts, "node-db-1", "critical", alertname="NodeDown", instance="db-1")], T0)
    run([fire(payments, "latency-db-1", alertname="HighLatency", instance="db-1"),
         fire(payments, "latency-db-2", alertname="HighLatency", instance="db-2")], T0 + timedelta(minutes=1))
    assert alert("latency-db-1").reason.startswith("inhibited by Node down")
    assert alert("latency-db-2").handling == Alert.PAGED  # went past the broken rule unharmed


def test_rules_are_checked_and_named_in_errors(db):
    cases = [
        ({"source_matchers": ""}, "source_matchers", "at least one matcher"),
        ({"target_matchers": [{"label": "job", "op": "=~", "value": "("}]}, "target_matchers",
         'Matcher 1 (job=~"(") has an invalid regular expression'),
        ({"equal": ["not a label"]}, "equal", "not a label name"),
        ({"name": "  "}, "name", "name"),
    ]
    for change, field, fragment in cases:
        values = {"name": "r", "source_matchers": 'alertname="A"', "target_matchers": 'alertname="B"', **change}
        with pytest.raises(ValidationError) as raised:
            services_rules.create_inhibition_rule(actor=SYSTEM, **values)
        assert fragment in raised.value.message_dict[field][0]
    assert not InhibitionRule.objects.exists()


def test_rule_changes_are_audited(node_down):
    services_rules.update_inhibition_rule(node_down, actor=SYSTEM, equal=["instance", "job"])
    assert services_rules.delete_inhibition_rule(node_down, actor=SYSTEM)
    actions = list(AuditEntry.objects.filter(action__startswith="alerts.inhibition_rule")
                   .order_by("seq").values_list("action", "summary"))
    assert [a for a, _ in actions] == ["alerts.inhibition_rule.create", "alerts.inhibition_rule.update",
                                       "alerts.inhibition_rule.delete"]
    assert actions[0][1]["source_matchers"] == '{alertname="NodeDown"}'
    assert actions[1][1] == {"equal": {"from": ["instance"], "to": ["instance", "job"]}}
    with pytest.raises(ValidationError) as raised:
        services_rules.update_inhibition_rule(node_down, actor=SYSTEM, position=3)
    assert "position" in raised.value.message_dict
