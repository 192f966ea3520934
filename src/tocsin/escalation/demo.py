"""The demo's escalation: a policy per team with schedules (on call → second line → manager), a
major-incident policy for the rest, every service linked, and three incidents to look at."""

from datetime import timedelta

from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.models import Team
from tocsin.engine.worker import Engine
from tocsin.directory.models import OrgRole
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident
from tocsin.oncall.models import Schedule

from . import services
from .models import EscalationPolicy

MAJOR = "Major incident"


def load(actor):
    if not EscalationPolicy.objects.exists() and Schedule.objects.exists():
        _create(actor)
    policies = EscalationPolicy.objects.count()
    linked = Service.objects.filter(escalation_link__isnull=False).count()
    return f"Escalation: {policies} policies, {linked} services linked, {Incident.objects.count()} incidents"


def _target(kind, obj):
    return {"type": kind, "id": obj.pk}


def _create(actor):
    roles = {role.name: role for role in OrgRole.objects.all()}
    manager, cto = roles.get("IT Manager"), roles.get("Chief Technology Officer")
    management = [_target("role", r) for r in (manager,) if r]
    executive = [_target("role", r) for r in (cto,) if r]
    policies = {}
    for team in Team.objects.order_by("name"):
        schedules = list(Schedule.objects.filter(team=team).order_by("name"))
        if not schedules:
            continue
        tiers = [{"delay_minutes": 15, "path": "technical", "targets": [_target("schedule", schedules[0])],
                  "backup": [_target("schedule", s) for s in schedules[1:2]]}]
        if len(schedules) > 1:
            tiers.append({"delay_minutes": 15, "path": "technical", "targets": [_target("schedule", schedules[1])]})
        if management:
            tiers.append({"delay_minutes": 30, "path": "managerial", "targets": management})
        document = {"tiers": tiers, "repeat": 1, "follow_up_minutes": 5, "fallback": executive,
                    "deadlines": [{"after_minutes": 60, "tier": len(tiers) - 1, "urgency": "high"}]}
        policies[team.pk] = services.create_policy(f"{team.name} standard", document, actor=actor, team=team,
                                                   reason="Demo: the team's agreed escalation path")
    if management:
        major = {"tiers": [{"delay_minutes": 10, "path": "managerial", "targets": management},
                           {"delay_minutes": 20, "path": "executive", "targets": executive or management}],
                 "repeat": 2, "follow_up_minutes": 5}
        policies[None] = services.create_policy(MAJOR, major, actor=actor, reason="Demo: leadership is told at once")
    fallback = policies.get(None) or next(iter(policies.values()), None)
    for service in Service.objects.order_by("name"):
        policy = policies.get(service.owner_team_id, fallback)
        if policy is not None:
            services.link_service(service, policy, actor=actor, ack_timeout_minutes=240 if service.tier == 1 else None)
    _incidents(actor)


def _incidents(actor):
    now = timezone.now()
    by_name = {s.name: s for s in Service.objects.all()}
    examples = [
        ("payments", "Card authorisations failing for 12% of attempts", "high", now - timedelta(hours=3), "resolve"),
        ("checkout-api", "p99 latency above 2 s on order submission", "high", now - timedelta(minutes=40), "ack"),
        ("Customer Support", "Ticket portal slow for customers in APAC", "low", now - timedelta(minutes=5), None),
    ]
    for name, title, urgency, at, then in examples:
        service = by_name.get(name)
        if service is None:
            continue
        incident = incidents.trigger_incident(service, title, actor=actor, urgency=urgency, source="demo", at=at)
        Engine(name="demo").run_due(at)  # the first page, as the engine would have sent it then
        if then == "ack":
            incidents.acknowledge(incident, actor=actor, via="demo", at=at + timedelta(minutes=4))
        elif then == "resolve":
            incidents.acknowledge(incident, actor=actor, via="demo", at=at + timedelta(minutes=3))
            incidents.resolve(incident, actor=actor, via="demo", note="Acquirer fixed its gateway.",
                              at=at + timedelta(minutes=50))
