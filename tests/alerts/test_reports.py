"""Manual outage reports (E8): the signed-in form, and the service function behind it and the mail."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import include, path

from tocsin import urls as site_urls
from tocsin.alerts.models import Alert
from tocsin.alerts.services_reports import report_outage
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import Incident

# The site's routes with the report page mounted where the site mounts it.
urlpatterns = [path("alerts/report/", include("tocsin.alerts.urls_report")), *site_urls.urlpatterns]
handler403 = site_urls.handler403
pytestmark = pytest.mark.urls(__name__)
PAGE = "/alerts/report/"


@pytest.fixture
def staff(make_user):
    return make_user("vic", roles=["viewer"])


@pytest.fixture
def browser(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


def csrf_token(client):
    page = client.get(PAGE)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def form(service, **fields):
    return {"service": service.pk, "summary": "Checkout shows an error page", "details": "Since 10:02 for everyone",
            "severity": "critical", **fields}


def test_the_page_asks_for_a_sign_in(db):
    response = Client().get(PAGE)
    assert response.status_code == 302 and response.headers["location"].startswith("/login/")


def test_a_user_without_any_role_may_not_report(make_user, service):
    client = Client()
    client.force_login(make_user("nobody"))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, form(service)).status_code == 403
    assert not Alert.objects.exists()


def test_the_form_lists_the_services(browser, service):
    html = browser.get(PAGE).content.decode()
    assert "Report an outage" in html and f'<option value="{service.pk}">Payments</option>' in html


def test_a_post_without_the_csrf_token_is_refused(browser, service):
    assert browser.post(PAGE, form(service)).status_code == 403
    assert not Alert.objects.exists()


def test_a_report_opens_a_manual_alert_and_an_incident(browser, staff, service, processed):
    token = csrf_token(browser)
    response = browser.post(PAGE, {**form(service), "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response.headers["location"] == PAGE
    alert = Alert.objects.get()
    assert (alert.service, alert.source, alert.severity, alert.summary, alert.integration) == (
        service, "manual", "critical", "Checkout shows an error page", None)
    assert alert.details == {"details": "Since 10:02 for everyone", "reported_by": "vic", "via": "web"}
    entry = AuditEntry.objects.get(action="alerts.report")
    assert (entry.actor_type, entry.actor_label, entry.object_id) == ("user", "vic", str(alert.pk))
    assert "is recorded" in browser.get(PAGE).content.decode()
    processed()
    incident = Incident.objects.get()
    assert (incident.service, incident.title, incident.urgency) == (service, "Checkout shows an error page", "high")


def test_more_reports_of_an_open_outage_add_to_it_instead_of_paging_again(browser, service, processed):
    token = csrf_token(browser)
    browser.post(PAGE, {**form(service), "csrfmiddlewaretoken": token})
    processed()
    response = browser.post(PAGE, {**form(service, summary="Cannot pay"), "csrfmiddlewaretoken": token},
                            follow=True)
    assert "1 other report(s)" in response.content.decode()
    processed()
    assert Alert.objects.get().occurrences == 2
    assert Incident.objects.count() == 1
    assert AuditEntry.objects.filter(action="alerts.report").count() == 2


@pytest.mark.parametrize("change, field", [
    ({"summary": "   "}, "summary"),
    ({"summary": "x" * 256}, "summary"),
    ({"severity": "apocalyptic"}, "severity"),
    ({"service": 999_999}, "service"),
    ({"service": ""}, "service"),
    ({"details": "x" * 20_001}, "details"),
])
def test_bad_input_is_shown_on_the_form_and_stores_nothing(browser, service, change, field):
    token = csrf_token(browser)
    response = browser.post(PAGE, {**form(service), **change, "csrfmiddlewaretoken": token})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Alert.objects.exists() and not AuditEntry.objects.filter(action="alerts.report").exists()


@pytest.mark.parametrize("call, field", [
    (lambda s: report_outage(None, "down", actor=audit.Actor.system("test")), "service"),
    (lambda s: report_outage(s, " \n ", actor=audit.Actor.system("test")), "summary"),
    (lambda s: report_outage(s, "down", actor=audit.Actor.system("test"), severity="high"), "severity"),
    (lambda s: report_outage(s, "down", actor=audit.Actor.system("test"), via="fax"), "via"),
])
def test_the_service_names_the_field_in_error(service, call, field):
    with pytest.raises(ValidationError) as refused:
        call(service)
    assert field in refused.value.message_dict
    assert not Alert.objects.exists()
