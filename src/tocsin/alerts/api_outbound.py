"""Alerts JSON API for outbound webhooks (incident state changes sent to a SIEM or ticketing
system): administrators only (`settings:manage`). The signing secret is returned once, at creation."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404

from ninja import Router, Status

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor

from .models import OutboundWebhook
from .schemas_rules import OutboundWebhookCreated, OutboundWebhookIn, OutboundWebhookOut
from .services_outbound import create_webhook, delete_webhook

router = Router(tags=["alert rules"])
TARGET = "alerts.outbound_webhooks"


def webhook_out(webhook):
    return {"id": webhook.pk, "name": webhook.name, "url": webhook.url, "events": webhook.events,
            "services": sorted(s.pk for s in webhook.services.all()), "security_only": webhook.security_only,
            "enabled": webhook.enabled, "created_at": webhook.created_at}


@router.get("/outbound-webhooks", response=list[OutboundWebhookOut], summary="Outbound webhooks (never their secret)")
def list_webhooks(request):
    check(request, "settings:manage", target=TARGET)
    return [webhook_out(w) for w in OutboundWebhook.objects.prefetch_related("services").order_by("name", "id")]


@router.post("/outbound-webhooks", response={201: OutboundWebhookCreated},
             summary="Create a webhook; the reply carries its signing secret, which is not shown again")
def create(request, payload: OutboundWebhookIn):
    check(request, "settings:manage", target=TARGET)
    wanted = set(payload.services)
    services = list(Service.objects.filter(pk__in=wanted))
    if len(services) != len(wanted):
        raise ValidationError({"services": "Unknown service."})
    webhook, secret = create_webhook(payload.name, payload.url, actor=actor(request), events=payload.events,
                                     services=services, security_only=payload.security_only,
                                     enabled=payload.enabled)
    return Status(201, {**webhook_out(webhook), "secret": secret})


@router.delete("/outbound-webhooks/{webhook_id}", response={204: None},
               summary="Delete a webhook; its pending deliveries are cancelled")
def delete(request, webhook_id: ObjectId):
    check(request, "settings:manage", target=TARGET)
    delete_webhook(get_object_or_404(OutboundWebhook, pk=webhook_id), actor=actor(request))
    return Status(204, None)
