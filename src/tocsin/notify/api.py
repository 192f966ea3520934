"""Notify JSON API: a person's notification rules (the person, or whoever may change their contact
details), providers (administrators: `settings:manage`; secrets are write-only) with a test
send, and an incident's delivery attempts."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from tocsin.core.api_auth import check
from tocsin.core.permissions import PermissionDeniedError
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor
from tocsin.directory.models import Person
from tocsin.directory.values import mask, normalise
from tocsin.directory.visibility import can_edit_person
from tocsin.incidents.access import visible_to
from tocsin.incidents.models import Incident

from . import chains, providers, services, testing
from .models import URGENCIES, Attempt, NotificationRule, Provider
from .providers.email import ascii_address
from .schemas import AttemptOut, ChainOut, ProviderIn, ProviderOut, ProviderPatch, RulesIn, TestSendIn, TestSendOut

router = Router(tags=["notifications"])
PROVIDERS = "notify.providers"


def _may_change_rules(request, person):
    principal = request.principal
    if principal.user is not None and person.user_id == principal.user.pk:
        return
    if not can_edit_person(principal, person):
        raise PermissionDeniedError("contacts:write")


def _chain(person, urgency):
    rules = list(NotificationRule.objects.filter(person=person, urgency=urgency).select_related("method"))
    steps = chains.rule_steps(rules) if rules else chains.default_steps(
        list(person.methods.filter(is_active=True)), urgency)
    return {"urgency": urgency, "custom": bool(rules), "rules": [
        {"position": s.position, "method": s.method.pk, "kind": s.method.kind,
         "destination": mask(s.method.kind, s.method.value), "delay_minutes": int(s.delay.total_seconds() // 60)}
        for s in steps]}


@router.get("/people/{person_id}/notification-rules", response=list[ChainOut],
            summary="A person's notification chains, high and low urgency (methods masked)")
def get_rules(request, person_id: ObjectId):
    check(request, "contacts:read")
    person = get_object_or_404(Person, pk=person_id)
    return [_chain(person, urgency) for urgency, _ in URGENCIES]


@router.put("/people/{person_id}/notification-rules/{urgency}", response=ChainOut,
            summary="Replace a chain; an empty list brings the default chain back")
def put_rules(request, person_id: ObjectId, urgency: str, payload: RulesIn):
    person = get_object_or_404(Person, pk=person_id)
    _may_change_rules(request, person)
    services.set_notification_rules(person, urgency, [(r.method, r.delay_minutes) for r in payload.rules],
                                    actor=actor(request))
    return _chain(person, urgency)


def provider_out(p):
    # A chat or webhook provider's URL is a credential: never shown, even from a row saved before.
    settings = {k: v for k, v in p.settings.items() if k != "url"} if p.kind in services.URL_KINDS else p.settings
    return {"id": p.pk, "name": p.name, "kind": p.kind, "channels": p.channels, "priority": p.priority,
            "settings": settings, "has_secrets": bool(p.secrets), "enabled": p.enabled,
            "rate_per_minute": p.rate_per_minute, "max_concurrent": p.max_concurrent, "healthy": p.healthy,
            "health_error": p.health_error, "health_checked_at": p.health_checked_at}


@router.get("/notify/providers", response=list[ProviderOut], summary="Providers (never their secrets)")
def list_providers(request):
    check(request, "settings:manage", target=PROVIDERS)
    return [provider_out(p) for p in Provider.objects.all()]


@router.post("/notify/providers", response={201: ProviderOut}, summary="Add a provider")
def create_provider(request, payload: ProviderIn):
    check(request, "settings:manage", target=PROVIDERS)
    fields = payload.dict()
    secrets = fields.pop("secrets")
    made = services.save_provider(actor=actor(request), secrets=secrets, **fields)
    return Status(201, provider_out(made))


@router.patch("/notify/providers/{provider_id}", response=ProviderOut,
              summary="Change a provider; a field left out, or null, stays as it is")
def change_provider(request, provider_id: ObjectId, payload: ProviderPatch):
    check(request, "settings:manage", target=PROVIDERS)
    provider = get_object_or_404(Provider, pk=provider_id)
    # null means "leave it", as for secrets: none of these fields may be empty on a provider.
    fields = payload.dict(exclude_unset=True, exclude_none=True)
    secrets = fields.pop("secrets", None)
    return provider_out(services.save_provider(provider, actor=actor(request), secrets=secrets, **fields))


@router.post("/notify/providers/{provider_id}/test", response=TestSendOut,
             summary="Send a test message through this provider now, and say how it went")
def test_provider(request, provider_id: ObjectId, payload: TestSendIn):
    check(request, "settings:manage", target=PROVIDERS)
    provider = get_object_or_404(Provider, pk=provider_id)
    providers.load()  # a fresh process may not have registered the provider kinds yet
    return testing.test_send(provider, payload.channel, _test_address(payload.channel, payload.to),
                             actor=actor(request))


def _test_address(channel, to):
    """`to` checked as a contact value of the channel's kind (a 400 naming `to`); an e-mail address
    as a relay without SMTPUTF8 takes it (its domain in IDNA form)."""
    kind = {"email": "email", "sms": "sms", "voice": "voice", "webhook": "webhook"}.get(channel, "chat")
    value = normalise(kind, to, field="to")
    if kind != "email":
        return value
    try:
        return ascii_address(value)
    except UnicodeError:
        raise ValidationError({"to": "The e-mail address cannot be written in ASCII (its part before the @, "
                                     "or its domain)."}) from None


@router.get("/incidents/{incident_id}/deliveries", response=list[AttemptOut],
            summary="Every attempt to reach someone about this incident (methods masked)")
def deliveries(request, incident_id: ObjectId):
    check(request, "incidents:read")
    incident = get_object_or_404(Incident.objects.filter(visible_to(request.principal.user)), pk=incident_id)
    rows = Attempt.objects.filter(incident=incident).select_related("person").order_by("due_at", "pk")
    return [{"id": a.pk, "person": a.person.name, "channel": a.channel, "destination": a.destination,
             "provider": a.provider, "failover_from": a.failover_from, "status": a.status, "tries": a.tries,
             "due_at": a.due_at, "sent_at": a.sent_at, "finished_at": a.finished_at, "latency_ms": a.latency_ms,
             "error": a.error} for a in rows[:1000]]
