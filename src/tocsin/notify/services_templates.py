"""Use cases that change message templates: configuration, so each is validated and audited."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from . import rendering
from .models import CHANNELS, SMS, URGENCIES, MessageTemplate

CHANNEL_NAMES, URGENCY_NAMES = dict(CHANNELS), dict(URGENCIES)


def _check_slot(channel, urgency):
    if channel not in CHANNEL_NAMES:
        raise ValidationError({"channel": f"Unknown channel '{str(channel)[:20]}'; use {', '.join(CHANNEL_NAMES)}."})
    if urgency not in URGENCY_NAMES:
        raise ValidationError({"urgency": f"Unknown urgency '{str(urgency)[:20]}'; use {', '.join(URGENCY_NAMES)}."})


def _facts(template):
    if template is None:
        return {}
    return {"subject": template.subject, "body": template.body, "sms_segments": template.sms_segments}


def save_template(channel, urgency, *, subject, body, sms_segments, actor, user=None):
    """Create or replace the administrator's template for (channel, urgency). Refused, with the
    problem named per field, while it does not render the sample incident cleanly."""
    _check_slot(channel, urgency)
    subject = subject if isinstance(subject, str) else ""
    sms_segments = sms_segments if channel == SMS else rendering.DEFAULT_SMS_SEGMENTS
    errors = rendering.validate(channel, subject, body, sms_segments)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(channel=channel, urgency=urgency).first()
        before = _facts(template)
        if template is None:
            template = MessageTemplate(channel=channel, urgency=urgency)
        template.subject, template.body, template.sms_segments = subject, body, sms_segments
        template.updated_at = timezone.now()
        template.updated_by = user if getattr(user, "pk", None) else None
        template.save()
        audit.record(actor, "notify.template.save", template, summary={
            "channel": channel, "urgency": urgency, "created": not before,
            "changes": audit.changes(before, _facts(template))})
    return template


def reset_template(channel, urgency, *, actor):
    """Delete the custom template of (channel, urgency), so the built-in one is used again.
    False when there was none (nothing changes, nothing is audited)."""
    _check_slot(channel, urgency)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(channel=channel, urgency=urgency).first()
        if template is None:
            return False
        before = _facts(template)
        pk = template.pk
        template.delete()
        audit.record(actor, "notify.template.reset", object_type="notify.messagetemplate", object_id=pk,
                     summary={"channel": channel, "urgency": urgency, "removed": before})
    return True
