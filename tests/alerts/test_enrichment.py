"""Enrichment (E6): the context an incident carries before anyone is paged, label-based link
templates rendered safely, the timeline note of alerts that join, and the incident page's panel."""

from datetime import datetime, timedelta, timezone

import pytest
from django.test import Client

from tocsin.alerts import enrichment, panel
from tocsin.alerts.models import Alert, ServiceAlertSettings
from tocsin.alerts.pipeline import Decision
from tocsin.catalog import services as catalog
from tocsin.incidents import panels
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import resolve, trigger_incident

from .conftest import SYSTEM

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def alerts_panel():
    """The panel as AlertsConfig.ready registers it (taken out again if this test added it)."""
    before = list(panels._panels)
    panel.register()
    yield
    if len(panels._panels) != len(before):
        panels._panels[:] = before
        panel._registered.clear()


def new_alert(service, summary="Disk full on db-1", *, labels=None, links=None, details=None, at=T0, **fields):
    return Alert.objects.create(service=service, dedup_key=fields.pop("dedup_key", summary), summary=summary,
                                source=fields.pop("source", "db-1.example.net"), labels=labels or {},
                                links=links or [], details=details or {}, first_seen=at, last_seen=at, **fields)


def enrichment_of(incident):
    return TimelineEntry.objects.get(incident=incident, key=f"alerts.enrich:{incident.pk}")


# --- label-based link templates ------------------------------------------------------------------


def render(href, **alert_fields):
    alert = Alert(labels=alert_fields.pop("labels", {"host": "db-1"}), source=alert_fields.pop("source", "db-1"),
                  component=alert_fields.pop("component", "disk"))
    return enrichment.render_link_template({"text": "Dashboard", "href": href}, alert, "Payments")


def test_a_template_fills_in_labels_source_component_and_service():
    link = render("https://grafana.example/d/x?var-host={{labels.host}}&src={{ source }}&c={{component}}&s={{service}}")
    assert link == {"text": "Dashboard", "from": "template",
                    "href": "https://grafana.example/d/x?var-host=db-1&src=db-1&c=disk&s=Payments"}


def test_values_are_url_quoted_whole_so_they_cannot_add_parameters_or_paths():
    link = render("https://grafana.example/d/x?var-host={{labels.host}}",
                  labels={"host": "db-1&admin=true#/../../etc <x>"})
    assert link["href"] == ("https://grafana.example/d/x?var-host="
                            "db-1%26admin%3Dtrue%23%2F..%2F..%2Fetc%20%3Cx%3E")


@pytest.mark.parametrize("href", [
    "javascript:alert(1)//{{labels.host}}",                 # not http(s)
    "{{labels.url}}",                                        # a value may not choose the scheme or host
    "data:text/html,{{labels.host}}",
    "https://grafana.example/?h={{labels.missing}}",         # a value that is not there
    "https://grafana.example/?h={{ 7*7 }}",                  # anything but the four placeholders
    "https://grafana.example/?h={{labels.host.__class__}}",
    "https://grafana.example/?h={{ config.SECRET_KEY }}",
    "https://grafana.example/?h={% debug %}{{labels.nested}}",
    "//grafana.example/relative",
    "https://grafana.example/" + "a" * 3000,
])
def test_templates_that_are_not_safe_http_links_are_left_out(href):
    assert render(href, labels={"host": "db-1", "url": "https://evil.example", "nested": {"a": 1}}) is None


def test_a_template_engine_never_sees_the_values():
    link = render("https://grafana.example/?h={{labels.host}}", labels={"host": "{{ 7*7 }}{% now 'Y' %}"})
    assert link["href"] == "https://grafana.example/?h=%7B%7B%207%2A7%20%7D%7D%7B%25%20now%20%27Y%27%20%25%7D"


def test_alert_links_keep_only_http_and_runbook_annotations_are_found():
    alert = Alert(links=[{"href": "javascript:alert(1)", "text": "x"},
                         {"href": "https://ci.example/run/7", "text": "CI"},
                         {"href": "https://img.example/a.png", "image": True}],
                  labels={}, details={"annotations": {"runbook_url": "https://wiki.example/disk-full"}})
    assert enrichment.alert_links(alert) == [{"text": "CI", "href": "https://ci.example/run/7", "from": "alert"}]
    assert enrichment.annotated_runbooks(alert) == [
        {"text": "Runbook", "href": "https://wiki.example/disk-full", "from": "alert"}]


# --- the context of a new incident ---------------------------------------------------------------


@pytest.fixture
def estate(make_service):
    """Payments depends on Database; Database has an open incident."""
    database = make_service("Database", team="DBA", tier=1)
    payments = make_service("Payments", team="Platform", tier=1)
    catalog.set_bia(database, actor=SYSTEM, rto=30, rpo=5, mtpd=240)
    catalog.set_bia(payments, actor=SYSTEM, rto=60, rpo=15)
    catalog.add_dependency(payments, database, actor=SYSTEM)
    ServiceAlertSettings.objects.create(service=payments, suppress_dependents=False, link_templates=[
        {"text": "Host dashboard", "href": "https://grafana.example/d/x?var-host={{labels.host}}"},
        {"text": "Bad", "href": "javascript:alert('{{labels.host}}')"},
    ])
    upstream = trigger_incident(database, "Replication lag", actor=SYSTEM, at=T0 - timedelta(minutes=5))
    return {"payments": payments, "database": database, "upstream": upstream}


def test_the_first_alert_opens_an_incident_that_already_carries_its_context(estate, processed):
    payments = estate["payments"]
    earlier = trigger_incident(payments, "Card payments slow", actor=SYSTEM, at=T0 - timedelta(minutes=2))
    done = trigger_incident(payments, "Old and resolved", actor=SYSTEM, at=T0 - timedelta(minutes=3))
    resolve(done, actor=SYSTEM)
    alert = new_alert(payments, labels={"host": "db-1"}, links=[{"href": "https://ci.example/7", "text": "CI"}])
    processed(T0)
    alert.refresh_from_db()
    incident = alert.incident
    assert alert.handling == Alert.PAGED
    entry = enrichment_of(incident)
    assert (entry.kind, entry.actor_type, entry.at) == (TimelineEntry.NOTE, "system", T0)
    context = entry.data["enrichment"]
    assert context["owner_team"]["name"] == "Platform"
    assert context["bia"] == {"rto_minutes": 60, "rpo_minutes": 15, "mtpd_minutes": None, "tier": 1,
                              "criticality": "Tier 1 (most critical)", "data_sensitivity": "internal"}
    assert [(r["number"], r["relation"]) for r in context["related"]] == [
        (earlier.number, "same service"), (estate["upstream"].number, "upstream dependency")]
    assert [link["href"] for link in context["links"]] == [
        "https://ci.example/7", "https://grafana.example/d/x?var-host=db-1"]
    assert context["changes"] == [] and context["runbooks"] == []
    assert f"#{earlier.number} on Payments" in entry.message and "RTO 60 min" in entry.message
    # One entry, also when the processor's transaction is retried.
    enrichment.enrich(incident, alert, T0 + timedelta(seconds=5))
    assert TimelineEntry.objects.filter(incident=incident, key=f"alerts.enrich:{incident.pk}").count() == 1


def test_security_incidents_are_never_listed_as_related(estate):
    payments = estate["payments"]
    secret = trigger_incident(payments, "Credential stuffing", actor=SYSTEM, at=T0 - timedelta(minutes=1))
    Incident.objects.filter(pk=secret.pk).update(security=True)
    incident = trigger_incident(payments, "Errors", actor=SYSTEM, at=T0)
    context = enrichment.enrich(incident, new_alert(payments), T0)
    assert secret.number not in [r["number"] for r in context["related"]]
    assert "Credential" not in enrichment_of(incident).message


def test_providers_add_runbooks_and_recent_changes_and_a_failing_one_is_left_out(estate):
    payments = estate["payments"]

    def changes(service, incident, alert, now):
        return [{"text": f"Deploy of {service.name} 2.4.1", "href": "https://ci.example/deploys/41"},
                {"text": "sneaky", "href": "javascript:alert(1)"}]

    def runbooks(service, incident, alert, now):
        # A failed query inside must not poison the transaction that opens the incident.
        Incident.objects.raw("SELECT * FROM no_such_table")[0]

    enrichment.provides(enrichment.CHANGES)(changes)
    enrichment.provides(enrichment.RUNBOOKS)(runbooks)
    try:
        incident = trigger_incident(payments, "Errors", actor=SYSTEM, at=T0)
        context = enrichment.enrich(incident, new_alert(payments), T0)
    finally:
        enrichment._providers[enrichment.CHANGES].remove(changes)
        enrichment._providers[enrichment.RUNBOOKS].remove(runbooks)
    assert context["changes"] == [{"text": "Deploy of Payments 2.4.1", "href": "https://ci.example/deploys/41"}]
    assert context["runbooks"] == []
    assert Incident.objects.filter(pk=incident.pk).exists()  # the transaction is still usable
    with pytest.raises(ValueError):
        enrichment.provides("weather")


def test_a_joining_alert_is_noted_on_the_timeline(estate):
    incident = estate["upstream"]
    alert = new_alert(estate["payments"], "Payments timeouts")
    decision = Decision(handling=Alert.CORRELATED, reason=f"caused by upstream incident {incident.reference}",
                        incident=incident)
    enrichment.joined(incident, alert, decision, T0)
    enrichment.joined(incident, alert, decision, T0)  # a retry writes nothing more
    entry = TimelineEntry.objects.get(incident=incident, key__startswith="alerts.joined:")
    assert entry.kind == TimelineEntry.NOTE and entry.actor_type == "system"
    assert entry.message == ("Alert Payments timeouts joined "
                             f"(correlated: caused by upstream incident #{incident.number}).")


# --- the incident page -----------------------------------------------------------------------------


def test_the_incident_page_shows_the_alerts_and_their_context(estate, processed, make_user, person, alerts_panel):
    payments = estate["payments"]
    first = new_alert(payments, labels={"host": "db-1"},
                      links=[{"href": "javascript:alert(1)", "text": "evil"},
                             {"href": "https://ci.example/7", "text": "CI"}])
    processed(T0)
    first.refresh_from_db()
    incident = first.incident
    Alert.objects.filter(pk=first.pk).update(occurrences=4)
    grouped = new_alert(payments, "Disk full on db-2", dedup_key="db-2", dirty=False, incident=incident,
                        handling=Alert.GROUPED, reason="same host group", severity="warning")
    user = make_user("ops", roles=["responder"], teams=["platform"])
    client = Client()
    client.force_login(user)
    page = client.get(f"/incidents/{incident.number}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="alerts-panel"' in html and 'id="enrichment"' in html
    assert f'data-alert="{first.pk}"' in html and f'data-alert="{grouped.pk}"' in html
    assert "Grouped into an open incident" in html and "same host group" in html
    assert "<td>4</td>" in html
    assert 'href="https://grafana.example/d/x?var-host=db-1"' in html and 'href="https://ci.example/7"' in html
    assert "javascript:" not in html
    assert f'href="/incidents/{estate["upstream"].number}/"' in html
    assert "RTO 60 min" in html


def test_an_incident_reported_by_hand_has_no_alerts_panel(estate, make_user, alerts_panel):
    user = make_user("ops", roles=["responder"], teams=["platform"])
    client = Client()
    client.force_login(user)
    html = client.get(f"/incidents/{estate['upstream'].number}/").content.decode()
    assert 'id="alerts-panel"' not in html


def test_a_failure_while_gathering_context_never_keeps_the_incident_from_opening(estate, processed, monkeypatch):
    def broken(incident):
        Incident.objects.raw("SELECT * FROM no_such_table")[0]

    monkeypatch.setattr(enrichment, "related_incidents", broken)
    alert = new_alert(estate["payments"])
    processed(T0)
    alert.refresh_from_db()
    assert alert.handling == Alert.PAGED and alert.incident is not None
    assert not TimelineEntry.objects.filter(key=f"alerts.enrich:{alert.incident_id}").exists()
    assert TimelineEntry.objects.filter(incident_id=alert.incident_id, kind=TimelineEntry.CREATED).exists()


def test_provider_values_that_are_not_json_are_kept_as_text(estate):
    def changes(service, incident, alert, now):
        return [{"text": "Deploy", "href": "https://ci.example/d/1", "at": now}]

    enrichment.provides(enrichment.CHANGES)(changes)
    try:
        incident = trigger_incident(estate["payments"], "Errors", actor=SYSTEM, at=T0)
        enrichment.enrich(incident, new_alert(estate["payments"]), T0)
    finally:
        enrichment._providers[enrichment.CHANGES].remove(changes)
    assert enrichment_of(incident).data["enrichment"]["changes"][0]["at"] == str(T0)


@pytest.mark.parametrize("template", ["https://{{labels.host}}/d", "{{labels.scheme}}://grafana.example/d",
                                      "https://grafana.{{labels.domain}}/d"])
def test_a_link_template_may_not_let_the_alert_choose_the_host(template):
    from types import SimpleNamespace
    from tocsin.alerts.enrichment import render_link_template
    alert = SimpleNamespace(labels={"host": "evil.example", "scheme": "https", "domain": "evil.example"},
                            source="", component="", service=None, service_id=None)
    assert render_link_template({"text": "x", "href": template}, alert, "svc") is None
