"""Context attached to an incident before anyone is paged (E6), security marking (E7), and the
timeline note when a later alert joins an incident.

`enrich` runs inside the transaction that opens the incident, before escalation's first job can
run, so the first page already finds owner, BIA summary, runbooks, related incidents and links.
The context is one timeline entry whose `data["enrichment"]` the incident page's alerts panel
shows; its key makes a retried processor write it once."""

import json
import logging
import re
from urllib.parse import quote, urlsplit

from django.db import transaction

from tocsin.catalog.models import Dependency
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import record_entry

from .models import Alert, ServiceAlertSettings

log = logging.getLogger("tocsin.alerts")

MAX_LINKS = 20
MAX_HREF = 2048
MAX_RELATED = 10
DEFAULT_SECURITY_CATEGORY = "unclassified"

# --- context providers: what other apps know about a service ------------------------------------

RUNBOOKS, CHANGES = "runbooks", "changes"
_providers = {RUNBOOKS: [], CHANGES: []}


def provides(kind):
    """Decorator for apps higher up (continuity's runbooks, the change records): register
    `provider(service, incident, alert, now) -> [{"text": …, "href": …, …}]`. A provider that
    fails is left out of the context; it never stops an incident from opening."""
    if kind not in _providers:
        raise ValueError(f"unknown enrichment kind '{kind}'; use {', '.join(sorted(_providers))}")

    def register(provider):
        if provider not in _providers[kind]:
            _providers[kind].append(provider)
        return provider
    return register


def _provided(kind, service, incident, alert, now):
    found = []
    for provider in _providers[kind]:
        try:
            # A savepoint: on PostgreSQL a failed query would otherwise poison the whole
            # transaction that is opening the incident.
            with transaction.atomic():
                items = list(provider(service, incident, alert, now) or ())
        except Exception:
            log.exception("enrichment provider failed", extra={"kind": kind, "provider": provider.__name__})
            continue
        for item in items[:MAX_LINKS]:
            if isinstance(item, dict):
                href = safe_href(item.get("href"))
                if item.get("href") and href is None:
                    continue  # a provider's link we would not let anyone click
                # Stored as JSON: dates and the like become text rather than fail the write.
                found.append(json.loads(json.dumps({**item, "href": href or ""}, default=str)))
    return found


# --- links: safe rendering of label-based templates ----------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
LABEL_NAME = re.compile(r"^labels\.([A-Za-z_][A-Za-z0-9_.\-]*)$")


def safe_href(value):
    """`value` if it is an absolute http(s) URL of reasonable length, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_HREF:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch in value for ch in "\r\n\t\x00 "):
        return None
    return value


def _placeholder_value(name, alert, service_name):
    match = LABEL_NAME.match(name)
    if match:
        labels = alert.labels if isinstance(alert.labels, dict) else {}
        value = labels.get(match.group(1))
    elif name == "source":
        value = alert.source
    elif name == "component":
        value = alert.component
    elif name == "service":
        value = service_name
    else:
        raise KeyError(name)
    if value is None or isinstance(value, (dict, list)) or value == "":
        raise KeyError(name)
    return str(value)


def render_link_template(template, alert, service_name):
    """One template as a link, or None. Only `{{labels.<name>}}`, `{{source}}`, `{{component}}`
    and `{{service}}` are filled in, each value percent-encoded whole (so a value can add no
    path, query or scheme of its own); nothing is evaluated. A template that names anything else,
    misses a value, or does not end up an http(s) URL is left out."""
    if isinstance(template, str):
        template = {"href": template}
    if not isinstance(template, dict):
        return None
    pattern = template.get("href") or template.get("url")
    if not isinstance(pattern, str) or len(pattern) > MAX_HREF:
        return None
    # The scheme and host are the administrator's: no placeholder before the path, so whoever sends
    # the alert cannot choose where the link leads.
    scheme, _, rest = pattern.partition("://")
    if "{{" in scheme or "{{" in rest.split("/", 1)[0] or safe_href(PLACEHOLDER.sub("x", pattern)) is None:
        return None
    try:
        href = PLACEHOLDER.sub(
            lambda m: quote(_placeholder_value(m.group(1), alert, service_name), safe=""), pattern)
    except KeyError:
        return None
    href = safe_href(href)
    if href is None:
        return None
    text = template.get("text") or template.get("title")
    text = str(text)[:200] if text else urlsplit(href).netloc
    return {"text": text, "href": href, "from": "template"}


def alert_links(alert):
    """The alert's own links (http(s) only) and a runbook URL the monitoring tool annotated."""
    found = []
    for link in alert.links if isinstance(alert.links, list) else ():
        if isinstance(link, dict) and not link.get("image"):
            href = safe_href(link.get("href"))
            if href:
                found.append({"text": str(link.get("text") or urlsplit(href).netloc)[:200], "href": href,
                              "from": "alert"})
    return found


def annotated_runbooks(alert):
    """`runbook_url` as Prometheus and Grafana rules annotate it, wherever the format put it."""
    places = []
    for holder in (alert.labels, alert.details):
        if isinstance(holder, dict):
            places.append(holder)
            if isinstance(holder.get("annotations"), dict):
                places.append(holder["annotations"])
    found = []
    for place in places:
        for name in ("runbook_url", "runbook"):
            href = safe_href(place.get(name))
            if href and all(r["href"] != href for r in found):
                found.append({"text": "Runbook", "href": href, "from": "alert"})
    return found


def links_for(alert, service, alert_settings):
    templates = alert_settings.link_templates if alert_settings is not None else []
    rendered = [render_link_template(t, alert, service.name) for t in (templates or [])[:MAX_LINKS]]
    links = alert_links(alert) + [link for link in rendered if link is not None]
    unique, seen = [], set()
    for link in links:
        if link["href"] not in seen:
            seen.add(link["href"])
            unique.append(link)
    return unique[:MAX_LINKS]


# --- related incidents ---------------------------------------------------------------------------


def related_incidents(incident):
    """Open incidents on the same service or on a service it depends on (directly), newest
    first. Security incidents are never listed here: this context is shown to everyone who may
    see this incident, and they may not be cleared for those."""
    upstream = list(Dependency.objects.filter(service_id=incident.service_id).values_list("depends_on_id", flat=True))
    rows = (Incident.objects.filter(status__in=Incident.OPEN, service_id__in=[incident.service_id, *upstream],
                                    security=False)
            .exclude(pk=incident.pk).select_related("service").order_by("-created_at", "-number")[:MAX_RELATED])
    return [{"id": other.pk, "number": other.number, "title": other.title, "status": other.status,
             "service": other.service.name,
             "relation": "same service" if other.service_id == incident.service_id else "upstream dependency"}
            for other in rows]


# --- security marking ----------------------------------------------------------------------------


def security_category(alert):
    options = alert.integration.options if alert.integration_id and alert.integration else {}
    category = options.get("security_category") if isinstance(options, dict) else None
    return str(category).strip()[:64] if category else DEFAULT_SECURITY_CATEGORY


def mark_security(incident, alert):
    """A security alert makes its incident a security incident: restricted, categorised, and
    waiting for review. It is never unmarked by a later alert."""
    if not alert.security:
        return False
    category = security_category(alert)
    # Read in the update itself: the incident object may be older than the row.
    changed = Incident.objects.filter(pk=incident.pk, security=False).update(
        security=True, security_category=category, needs_review=True)
    if changed:
        incident.security, incident.security_category, incident.needs_review = True, category, True
    else:
        incident.security, incident.security_category, incident.needs_review = Incident.objects.filter(
            pk=incident.pk).values_list("security", "security_category", "needs_review").get()
    return bool(changed)


# --- the two entry points of the processor -------------------------------------------------------


def context_for(incident, alert, now):
    service = incident.service
    alert_settings = ServiceAlertSettings.objects.filter(service_id=service.pk).first()
    owner_team = service.owner_team
    return {
        "service": {"id": service.pk, "name": service.name, "tier": service.tier,
                    "criticality": service.get_tier_display()},
        "owner_team": {"id": owner_team.pk, "name": owner_team.name} if owner_team else None,
        "owner": service.owner.name if service.owner_id else None,
        "bia": {"rto_minutes": service.rto_minutes, "rpo_minutes": service.rpo_minutes,
                "mtpd_minutes": service.mtpd_minutes, "tier": service.tier,
                "criticality": service.get_tier_display(), "data_sensitivity": service.data_sensitivity},
        "runbooks": annotated_runbooks(alert) + _provided(RUNBOOKS, service, incident, alert, now),
        "related": related_incidents(incident),
        "changes": _provided(CHANGES, service, incident, alert, now),
        "links": links_for(alert, service, alert_settings),
        "alert": {"id": alert.pk, "summary": alert.summary[:200], "severity": alert.severity,
                  "source": alert.source},
    }


def _minutes(value):
    return f"{value} min" if value is not None else "not assessed"


def describe(context, incident):
    """The timeline's one-paragraph version of the context."""
    parts = [f"{context['service']['name']} is {context['service']['criticality'].lower()}"]
    if context["owner_team"]:
        parts[0] += f", owned by {context['owner_team']['name']}"
    bia = context["bia"]
    parts.append(f"RTO {_minutes(bia['rto_minutes'])}, RPO {_minutes(bia['rpo_minutes'])}")
    related = context["related"]
    if related:
        parts.append("open related incidents: " + ", ".join(
            f"#{r['number']} on {r['service']}" for r in related))
    if context["runbooks"]:
        parts.append(f"{len(context['runbooks'])} runbook link(s)")
    if context["links"]:
        parts.append(f"{len(context['links'])} link(s)")
    if context["changes"]:
        parts.append(f"{len(context['changes'])} recent change(s)")
    if incident.security:
        parts.append(f"security incident ({incident.security_category}), needs review")
    return "Context: " + "; ".join(parts) + "."


def enrich_key(incident):
    return f"alerts.enrich:{incident.pk}"


def enrich(incident, alert, now):
    """Called by the processor right after `alert` opened `incident`, in that transaction."""
    try:
        # A savepoint: context is a help to responders, and gathering it must never keep the
        # incident from opening and paging.
        with transaction.atomic():
            context = context_for(incident, alert, now)
            context["security"] = {"security": incident.security, "category": incident.security_category,
                                   "needs_review": incident.needs_review}
            record_entry(incident, TimelineEntry.NOTE, describe(context, incident), key=enrich_key(incident),
                         at=now, data={"enrichment": context})
    except Exception:
        log.exception("incident enrichment failed", extra={"incident": incident.pk})
        return None
    return context


HANDLING_WORDS = {Alert.GROUPED: "grouped", Alert.CORRELATED: "correlated"}


def joined(incident, alert, decision, now):
    """A later alert joined `incident` by grouping or correlation: say so on its timeline."""
    became_security = mark_security(incident, alert)
    how = HANDLING_WORDS.get(decision.handling, decision.handling)
    reason = f": {decision.reason}" if decision.reason else ""
    message = f"Alert {alert.summary[:200]} joined ({how}{reason})."
    if became_security:
        message += f" It is a security alert: the incident is now a security incident ({incident.security_category})."
    record_entry(incident, TimelineEntry.NOTE, message, key=f"alerts.joined:{alert.pk}:{incident.pk}", at=now,
                 data={"alert": alert.pk, "handling": decision.handling, "reason": decision.reason[:255]})
