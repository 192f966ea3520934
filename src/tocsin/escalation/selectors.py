"""Read queries of the escalation pages and API: policies with their use, targets by name, and where
an incident's escalation stands. Each runs a fixed number of queries, whatever the size."""

from django.db.models import Prefetch

from tocsin.directory.models import OrgRole, Person

from .models import Escalation, EscalationPolicy, NotificationRequest, PolicyVersion, ServicePolicy

KIND_LABELS = {"person": "Person", "role": "Role", "schedule": "Schedule"}
SELECTION_LABELS = {"all": "Notify all", "round_robin": "Round robin", "least_loaded": "Least loaded",
                    "expertise": "Matching expertise"}


def policies():
    """Policies with their team, current version and the services that page through them."""
    links = ServicePolicy.objects.select_related("service").order_by("service__name")
    return (EscalationPolicy.objects.select_related("team", "current")
            .prefetch_related(Prefetch("services", queryset=links)).order_by("name", "pk"))


def versions(policy):
    return PolicyVersion.objects.filter(policy=policy).select_related("created_by").order_by("-number")


def spec_targets(document):
    """Every {type, id} a stored spec names: tiers, backups and the fallback."""
    found = []
    for tier in document.get("tiers", []):
        found.extend(tier.get("targets", []))
        found.extend(tier.get("backup", []))
    found.extend(document.get("fallback", []))
    return found


def target_names(targets):
    """{(type, id): name} for the given targets, in at most three queries. A target that no
    longer exists keeps a readable stand-in."""
    from tocsin.oncall.models import Schedule

    wanted = {kind: {t["id"] for t in targets if t["type"] == kind} for kind in KIND_LABELS}
    names = {}
    for kind, model in (("person", Person), ("role", OrgRole), ("schedule", Schedule)):
        if wanted[kind]:
            rows = model.objects.filter(pk__in=wanted[kind])
            fields = ("pk", "name", "is_active") if kind == "person" else ("pk", "name")
            for row in rows.values_list(*fields):
                label = row[1] if kind != "person" or row[2] else f"{row[1]} (deactivated)"
                names[(kind, row[0])] = label
    for target in targets:
        names.setdefault((target["type"], target["id"]), f"{KIND_LABELS[target['type']]} #{target['id']} (gone)")
    return names


def readable_tiers(document, names):
    """A stored spec's tiers for display: each target as 'Role: IT Manager' and the like."""

    def label(target):
        name = names[(target["type"], target["id"])]
        return name if target["type"] == "person" else f"{KIND_LABELS[target['type']]}: {name}"

    return [{
        "number": index + 1,
        "delay_minutes": tier["delay_minutes"],
        "path": tier.get("path", "technical"),
        "targets": [label(t) for t in tier.get("targets", [])],
        "backup": [label(t) for t in tier.get("backup", [])],
        "selection": tier.get("selection", "all"),
        "selection_label": SELECTION_LABELS.get(tier.get("selection", "all"), tier.get("selection", "all")),
        "tags": tier.get("tags", []),
    } for index, tier in enumerate(document.get("tiers", []))], [label(t) for t in document.get("fallback", [])]



def _last_tier_page(escalation, requests):
    """The tier request written last in the current run: the row itself holds the *next* step,
    so where the escalation stands is read from what it paged."""
    tiered = (NotificationRequest.PAGE, NotificationRequest.FOLLOW_UP)
    return next((r for r in reversed(requests) if r.reason in tiered and r.run == escalation.run), None)


def _next_step(escalation, tiers):
    if escalation.state != Escalation.RUNNING:
        return None
    at_fallback = escalation.tier >= len(tiers)
    return {"tier": None if at_fallback else escalation.tier, "cycle": escalation.cycle,
            "follow_up": escalation.follow_up, "at": escalation.next_step_at,
            "label": "the final fallback" if at_fallback else (
                f"tier {escalation.tier + 1}" + (f", follow-up {escalation.follow_up}" if escalation.follow_up else "")
                + (f", repeat {escalation.cycle}" if escalation.cycle else ""))}


def incident_escalation(incident):
    """Where the incident's escalation stands, with its notification requests; None when it has none.
    Three queries: the escalation with its version and policy, the requests with their people, and
    the people the current tier paged."""
    escalation = Escalation.objects.select_related("version__policy").filter(incident=incident).first()
    if escalation is None:
        return None
    requests = list(NotificationRequest.objects.filter(incident=incident).select_related("person")
                    .order_by("created_at", "pk"))
    tiers = escalation.version.spec.get("tiers", []) if escalation.version_id else []
    last = _last_tier_page(escalation, requests)
    tier = tiers[last.tier] if last is not None and last.tier is not None and last.tier < len(tiers) else None
    targets = list(Person.objects.filter(pk__in=escalation.targets).only("pk", "name")) if escalation.targets else []
    by_id = {p.pk: p for p in targets}
    paged = {}
    for request in requests:
        paged.setdefault(request.person_id, request.person)
    return {
        "escalation": escalation,
        "state": escalation.state,
        "state_label": escalation.get_state_display(),
        "policy": escalation.version.policy if escalation.version_id else None,
        "version": escalation.version.number if escalation.version_id else None,
        "tier": last.tier if last is not None else None,
        "cycle": last.cycle if last is not None else None,
        "follow_up": last.follow_up if last is not None else None,
        "path": tier.get("path", "technical") if tier else None,
        "tier_count": len(tiers),
        "fallback_paged": escalation.state == Escalation.EXHAUSTED or any(
            r.reason == NotificationRequest.FALLBACK and r.run == escalation.run for r in requests),
        "next_step": _next_step(escalation, tiers),
        "next_step_at": escalation.next_step_at,
        "targets": [by_id[pk] for pk in escalation.targets if pk in by_id],
        "paged": list(paged.values()),
        "requests": requests,
    }
