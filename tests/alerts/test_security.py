"""Security signals (E7): integrations that mark alerts as security open security incidents, which
only security officers, admins and the incident's own responders may see; everyone else is
answered as if the incident did not exist, in lists, pages and the API."""

import pytest
from django.test import Client

from tocsin.alerts.models import Alert
from tocsin.core.audit import Actor
from tocsin.incidents import selectors
from tocsin.incidents.models import Incident, Responder
from tocsin.incidents.services import add_paged, reassign, trigger_incident

SYSTEM = Actor.system("test")


def trigger(key, dedup_key, summary="Impossible travel for j.doe"):
    return {"routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
            "payload": {"summary": summary, "source": "siem", "severity": "critical"}}


# --- marking ---------------------------------------------------------------------------------------


def test_alerts_of_a_security_integration_open_a_security_incident(ingest, integration, processed):
    _, siem = integration(name="SIEM", security=True, security_category="account-compromise")
    _, plain = integration(name="Monitoring")
    assert ingest.post("/v2/enqueue", json=trigger(siem, "travel-1")).status_code == 202
    assert ingest.post("/v2/enqueue", json=trigger(plain, "disk-1", "Disk full")).status_code == 202
    processed()
    secure = Alert.objects.get(dedup_key="travel-1")
    ordinary = Alert.objects.get(dedup_key="disk-1")
    assert secure.security and not ordinary.security
    assert (secure.incident.security, secure.incident.security_category, secure.incident.needs_review) == (
        True, "account-compromise", True)
    assert (ordinary.incident.security, ordinary.incident.security_category, ordinary.incident.needs_review) == (
        False, "", False)


def test_a_security_integration_without_a_category_is_unclassified(ingest, integration, processed):
    _, siem = integration(name="SIEM", security=True)
    ingest.post("/v2/enqueue", json=trigger(siem, "t1"))
    processed()
    assert Incident.objects.get().security_category == "unclassified"


def test_a_security_alert_joining_an_incident_makes_it_a_security_incident(service, integration, db):
    from tocsin.alerts import enrichment
    from tocsin.alerts.pipeline import Decision
    from django.utils import timezone

    incident = trigger_incident(service, "Login errors", actor=SYSTEM)
    siem, _ = integration(name="SIEM", security=True, security_category="brute-force")
    now = timezone.now()
    alert = Alert.objects.create(service=service, integration=siem, dedup_key="bf", summary="Brute force on sso",
                                 security=True, first_seen=now, last_seen=now)
    enrichment.joined(incident, alert, Decision(handling=Alert.GROUPED, reason="same group", incident=incident), now)
    incident.refresh_from_db()
    assert (incident.security, incident.security_category, incident.needs_review) == (True, "brute-force", True)


# --- who may see it --------------------------------------------------------------------------------


@pytest.fixture
def cast(make_user, make_team, make_service, person):
    """A security incident and an ordinary one on Payments (team Platform), and people around them."""
    payments = make_service("Payments", team="Platform")
    make_team("Network")
    secret = trigger_incident(payments, "Data exfiltration suspected", actor=SYSTEM)
    Incident.objects.filter(pk=secret.pk).update(security=True, security_category="exfiltration", needs_review=True)
    secret.refresh_from_db()
    ordinary = trigger_incident(payments, "Card payments failing", actor=SYSTEM)
    users = {
        "officer": make_user("sofia", roles=["security_officer"]),
        "admin": make_user("adam", roles=["admin"]),
        "platform_officer": make_user("pat", roles=[("security_officer", "platform")]),
        "network_officer": make_user("nina", roles=[("security_officer", "network")]),
        "responder": make_user("ray", roles=["responder"], teams=["platform"]),
        "viewer": make_user("vic", roles=["viewer"]),
        "paged": make_user("pia", roles=["responder"], teams=["platform"]),
        "assignee": make_user("asa", roles=["responder"], teams=["platform"]),
    }
    paged = person("Pia Paged", user=users["paged"])
    add_paged([(secret.pk, paged.pk)], secret.created_at)
    assignee = person("Asa Assigned", user=users["assignee"])
    reassign(secret, assignee, actor=SYSTEM)
    return {"secret": secret, "ordinary": ordinary, "users": users}


SEE = ["officer", "admin", "platform_officer", "paged", "assignee"]
NOT = ["network_officer", "responder", "viewer"]


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def api_of(bearer, user):
    return bearer(user)


@pytest.mark.parametrize("who", SEE)
def test_cleared_people_and_its_responders_see_a_security_incident_everywhere(cast, who, bearer):
    user, secret = cast["users"][who], cast["secret"]
    page = client_of(user)
    listing = page.get("/incidents/").content.decode()
    assert f'/incidents/{secret.number}/"' in listing
    assert page.get(f"/incidents/{secret.number}/").status_code == 200
    api = api_of(bearer, user)
    assert api.get(f"/api/v1/incidents/{secret.pk}").status_code == 200
    assert api.get(f"/api/v1/incidents/by-number/{secret.number}").json()["title"] == "Data exfiltration suspected"
    body = api.get("/api/v1/incidents").json()
    assert body["count"] == 2 and secret.number in [row["number"] for row in body["items"]]


@pytest.mark.parametrize("who", NOT)
def test_everyone_else_is_told_it_does_not_exist(cast, who, bearer):
    user, secret, ordinary = cast["users"][who], cast["secret"], cast["ordinary"]
    page = client_of(user)
    listing = page.get("/incidents/").content.decode()
    assert f'/incidents/{secret.number}/"' not in listing and "Data exfiltration" not in listing
    assert f'/incidents/{ordinary.number}/"' in listing
    assert page.get(f"/incidents/{secret.number}/").status_code == 404
    assert page.get(f"/incidents/{ordinary.number}/").status_code == 200
    api = api_of(bearer, user)
    assert api.get(f"/api/v1/incidents/{secret.pk}").status_code == 404
    assert api.get(f"/api/v1/incidents/by-number/{secret.number}").status_code == 404
    assert api.get(f"/api/v1/incidents/{ordinary.pk}").status_code == 200
    body = api.get("/api/v1/incidents").json()
    assert body["count"] == 1 and [row["number"] for row in body["items"]] == [ordinary.number]


def test_a_team_responder_cannot_act_on_a_security_incident_it_may_not_see(cast, bearer):
    user, secret = cast["users"]["responder"], cast["secret"]
    assert client_of(user).post(f"/incidents/{secret.number}/acknowledge/").status_code == 404
    assert api_of(bearer, user).post(f"/api/v1/incidents/{secret.pk}/acknowledge", {},
                                     content_type="application/json").status_code == 404
    secret.refresh_from_db()
    assert secret.status == Incident.TRIGGERED


def test_a_responder_added_later_sees_it_from_then_on(cast, person):
    user, secret = cast["users"]["responder"], cast["secret"]
    assert not selectors.visible(user).filter(pk=secret.pk).exists()
    ray = person("Ray Responder", user=user)
    Responder.objects.create(incident=secret, person=ray, reason=Responder.ADDED)
    assert selectors.visible(user).filter(pk=secret.pk).exists()


def test_the_visibility_rule_costs_no_extra_query(cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert list(selectors.visible(cast["users"]["viewer"]).values_list("pk", flat=True)) == [cast["ordinary"].pk]
    with django_assert_num_queries(1):
        assert selectors.visible(cast["users"]["officer"]).count() == 2


def test_nobody_signed_out_or_deactivated_sees_it(cast):
    from django.contrib.auth.models import AnonymousUser

    officer = cast["users"]["officer"]
    officer.is_active = False
    assert list(selectors.visible(officer).values_list("pk", flat=True)) == [cast["ordinary"].pk]
    assert list(selectors.visible(AnonymousUser()).values_list("pk", flat=True)) == [cast["ordinary"].pk]
    assert list(selectors.visible(None).values_list("pk", flat=True)) == [cast["ordinary"].pk]


def test_the_incident_page_flags_a_security_incident_for_review(cast):
    from tocsin.alerts import panel
    from tocsin.incidents import panels

    before = list(panels._panels)
    panel.register()
    try:
        html = client_of(cast["users"]["officer"]).get(f"/incidents/{cast['secret'].number}/").content.decode()
    finally:
        if len(panels._panels) != len(before):
            panels._panels[:] = before
            panel._registered.clear()
    assert 'id="security-badge"' in html and "security: exfiltration" in html and 'id="needs-review"' in html


def test_a_plain_alert_of_a_security_incident_is_hidden_with_its_incident(db, service, make_user):
    from tocsin.alerts.events import Event
    from tocsin.alerts.models import Alert
    from tocsin.alerts.services import visible_alerts
    from tocsin.alerts.store import store_events
    from tocsin.core.permissions import Principal
    from tocsin.incidents.services import trigger_incident
    from django.utils import timezone
    now = timezone.now()
    store_events([Event(action="trigger", dedup_key="plain", summary="Login failures on db-1", source="db-1",
                        service_id=service.pk)], now)
    incident = trigger_incident(service, "Login failures on db-1", actor=SYSTEM, security_category="intrusion")
    Alert.objects.filter(dedup_key="plain").update(incident=incident)
    bystander = make_user("bystander", roles=["viewer"])
    officer = make_user("officer2", roles=["security_officer"])
    assert not visible_alerts(Principal.load(bystander)).exists()
    assert visible_alerts(Principal.load(officer)).count() == 1


def test_a_security_officer_completes_the_review_once(db, service, make_user, client, bearer, person):
    from tocsin.core.models import AuditEntry
    incident = trigger_incident(service, "Credential stuffing", actor=SYSTEM, security_category="intrusion")
    responder = make_user("resp", roles=[("responder", service.owner_team.slug)], teams=[service.owner_team.slug])
    add_paged([(incident.pk, person("Rae Responder", user=responder).pk)], incident.created_at)
    client.force_login(responder)
    page = client.get(f"/incidents/{incident.number}/").content.decode()
    assert "review needed" in page and "complete-review" not in page  # responders see it, may not review it
    assert client.post(f"/incidents/{incident.number}/security-review/").status_code == 403
    officer = make_user("sec", roles=["security_officer"])
    client.force_login(officer)
    assert "complete-review" in client.get(f"/incidents/{incident.number}/").content.decode()
    response = client.post(f"/incidents/{incident.number}/security-review/", {"note": "No data left the network."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert not incident.needs_review and incident.security
    assert incident.timeline.filter(message__contains="No data left the network.").exists()
    api = bearer(officer).post(f"/api/v1/incidents/{incident.pk}/security-review", {}, content_type="application/json")
    assert api.status_code == 200 and api.json()["needs_review"] is False
    assert AuditEntry.objects.filter(action="incident.security_review").count() == 1


def test_only_security_incidents_have_a_review(db, service, make_user, bearer):
    incident = trigger_incident(service, "Disk full", actor=SYSTEM)
    api = bearer(make_user("root", roles=["admin"])).post(f"/api/v1/incidents/{incident.pk}/security-review", {},
                                                         content_type="application/json")
    assert api.status_code in (400, 422) and "security" in api.content.decode()
