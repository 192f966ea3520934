"""The message template pages with the Django test client: administrators only (403 and nothing
changed for others), the channel × urgency list, the editor's preview against the sample
incident, validation errors under their field with nothing saved, save and reset through the
audited services, and CSRF."""

import re
from html import unescape

import pytest
from django.test import Client

from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.notify import services_templates
from tocsin.notify.models import MessageTemplate

LIST = "/notify/templates/"


def edit(channel="sms", urgency="high"):
    return f"/notify/templates/{channel}/{urgency}/"


@pytest.fixture
def responder(login, make_user):
    return login(make_user("pat", roles=["responder"]))


def text_of(response):
    return unescape(response.content.decode())


def field_errors(response, field):
    match = re.search(rf'data-field="{field}".*?(<ul class="errorlist[^>]*>.*?</ul>)', response.content.decode(), re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def test_non_admin_gets_403_and_changes_nothing(responder, root):
    services_templates.save_template("chat", "high", subject="", body="Custom {{ incident.reference }}",
                                     sms_segments=1, actor=audit.Actor.user(root))
    assert responder.get(LIST).status_code == 403
    assert responder.get(edit()).status_code == 403
    assert responder.post(edit(), {"body": "Mine {{ incident.reference }}", "sms_segments": "1",
                                   "action": "save"}).status_code == 403
    assert responder.post(edit("chat") + "reset/").status_code == 403
    assert not MessageTemplate.objects.filter(channel="sms").exists()
    assert MessageTemplate.objects.get(channel="chat").body == "Custom {{ incident.reference }}"
    assert AuditEntry.objects.filter(action="permission.denied").count() == 4


def test_anonymous_is_sent_to_sign_in(db):
    response = Client().get(LIST)
    assert response.status_code == 302 and "login" in response["Location"]


def test_list_shows_every_channel_and_urgency_as_custom_or_built_in(admin, root):
    services_templates.save_template("email", "low", subject="", body="Low: {{ incident.title }}", sms_segments=1,
                                     actor=audit.Actor.user(root), user=root)
    page = text_of(admin.get(LIST))
    cells = dict(re.findall(r'data-template="([a-z]+-[a-z]+)">\s*<a [^>]*>([a-z-]+)</a>', page))
    assert len(cells) == 10
    assert cells.pop("email-low") == "custom"
    assert set(cells.values()) == {"built-in"}
    assert "by root" in page


def test_editor_starts_from_the_built_in_template(admin):
    response = admin.get(edit("sms", "high"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Reply 1 ack, 2 esc" in page and "Reset to built-in" not in page
    assert 'name="subject"' not in page and 'name="sms_segments"' in page
    assert 'name="subject"' in text_of(admin.get(edit("email", "low")))
    assert admin.get(edit("fax", "high")).status_code == 404
    assert admin.get(edit("sms", "urgent")).status_code == 404


def test_preview_renders_the_sample_incident_and_saves_nothing(admin):
    response = admin.post(edit("email", "high"), {
        "subject": "PAGE {{ incident.reference }}", "body": "<i>{{ incident.title }}</i> for {{ person.name }}",
        "action": "preview"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="preview-subject">PAGE #42<' in page
    assert "<i>Checkout API error rate above 5 %</i> for Alex Morgan" in unescape(page)
    assert "srcdoc=" in page and 'data-testid="preview-problem"' not in page
    assert not MessageTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="notify.template").exists()


def test_preview_of_a_broken_template_shows_the_error_and_the_fallback(admin):
    response = admin.post(edit("sms"), {"body": "{{ incident.reference }} " + "x" * 200, "sms_segments": "1",
                                        "action": "preview"})
    assert response.status_code == 400
    assert "needs 2 SMS segments" in field_errors(response, "body")
    page = text_of(response)
    assert 'data-testid="preview-problem"' in page
    assert re.search(r'data-testid="preview-text"[^>]*>Tocsin: #42 Checkout API error rate above 5 %', page)
    assert "1 SMS segment," in page
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize("body, field, message", [
    ("Hi {{ incident.title ", "body", "Line 1: syntax error"),
    ("Hi\n{{ incident.phone }}", "body", "Line 2: unknown variable"),
    ("{{ ''.__class__ }}", "body", "not allowed in a template"),
    ("", "body", "Write the message"),
])
def test_save_is_refused_while_invalid_with_the_error_under_the_field(admin, body, field, message):
    response = admin.post(edit("chat"), {"subject": "", "body": body, "action": "save"})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not MessageTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="notify.template").exists()


def test_save_refuses_a_bad_subject_and_an_unknown_segment_budget(admin):
    response = admin.post(edit("email"), {"subject": "{{ nope }}", "body": "ok", "action": "save"})
    assert response.status_code == 400 and "unknown variable" in field_errors(response, "subject")
    response = admin.post(edit("sms"), {"body": "ok", "sms_segments": "5", "action": "save"})
    assert response.status_code == 400 and field_errors(response, "sms_segments")
    assert not MessageTemplate.objects.exists()


def test_save_creates_then_updates_the_template_with_an_audit_entry(admin, root):
    response = admin.post(edit("sms", "low"), {"body": "{{ incident.reference }} {{ links.ack_url }}",
                                               "sms_segments": "2", "action": "save"})
    assert response.status_code == 302 and response["Location"] == LIST
    template = MessageTemplate.objects.get(channel="sms", urgency="low")
    assert template.sms_segments == 2 and template.updated_by == root
    entry = AuditEntry.objects.get(action="notify.template.save")
    assert entry.actor_label == "root" and entry.object_id == str(template.pk)
    assert entry.summary["created"] is True
    assert entry.summary["changes"]["body"]["to"] == "{{ incident.reference }} {{ links.ack_url }}"

    assert "custom" in text_of(admin.get(LIST))
    assert "Reset to built-in" in text_of(admin.get(edit("sms", "low")))
    admin.post(edit("sms", "low"), {"body": "Page {{ incident.reference }}", "sms_segments": "1", "action": "save"})
    template.refresh_from_db()
    assert template.body == "Page {{ incident.reference }}" and template.sms_segments == 1
    second = AuditEntry.objects.filter(action="notify.template.save").order_by("-seq").first()
    assert second.summary["created"] is False
    assert second.summary["changes"]["sms_segments"] == {"from": 2, "to": 1}


def test_reset_deletes_the_custom_template_with_an_audit_entry(admin):
    admin.post(edit("voice"), {"body": "Incident {{ incident.number }}", "action": "save"})
    assert MessageTemplate.objects.filter(channel="voice").exists()
    response = admin.post(edit("voice") + "reset/")
    assert response.status_code == 302
    assert not MessageTemplate.objects.filter(channel="voice").exists()
    entry = AuditEntry.objects.get(action="notify.template.reset")
    assert entry.summary["removed"]["body"] == "Incident {{ incident.number }}"
    assert admin.post(edit("voice") + "reset/").status_code == 302  # already built-in: nothing to audit
    assert AuditEntry.objects.filter(action="notify.template.reset").count() == 1
    assert admin.get(edit("voice") + "reset/").status_code == 405


def test_posts_without_a_csrf_token_are_refused(login, root):
    client = login(root, enforce_csrf_checks=True)
    response = client.post(edit("chat"), {"body": "x {{ incident.reference }}", "action": "save"})
    assert response.status_code == 403
    assert not MessageTemplate.objects.exists()
