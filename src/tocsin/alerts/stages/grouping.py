"""Grouping (E2): a later alert of a service joins the service's recent open incident instead of
paging again. The first alert always pages at once; grouping only attaches the ones after it.

- "key": the alert joins the open incident whose first alert had the same group key: the values
  of the chosen `group_labels`, or the alert's own group key (Alertmanager's groupKey, Events v2
  group or component) when none are chosen.
- "intelligent": the alert joins the open incident one of whose alerts shares a value of any of
  `group_labels` (by default alertname, instance, job and source).
Either way only incidents of the same service opened within `group_window_minutes` qualify, and
the newest qualifying incident wins.

Never a service's whole alert history is read. The candidates are the service's open incidents
of the window (index on status and creation). "key" finds their first alerts by the incident's
alert key (the first alert's dedup key) in the index of open alerts by service and dedup key;
"intelligent" reads their alerts by incident, with the label comparison done in SQL. (The
processor writes each alert's incident as soon as it is decided, so an alert that opened an
incident a moment ago, in the same run, is found like any other.)"""

from datetime import timedelta

from django.db.models import F, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from tocsin.incidents.models import Incident

from .. import matchers
from ..models import Alert, ServiceAlertSettings
from ..pipeline import Decision, stage

INTELLIGENT_LABELS = ("alertname", "instance", "job", "source")
MAX_CANDIDATE_INCIDENTS = 50
MAX_COMPARED_ALERTS = 500
ALERT_FIELDS = ("id", "incident_id", "service_id", "dedup_key", "status", "labels", "severity", "source",
                "component", "group", "alert_class", "group_key")


def recent_open_incidents(service_id, since):
    return list(Incident.objects.filter(service_id=service_id, status__in=Incident.OPEN, created_at__gte=since)
                .order_by("-created_at", "-pk")[:MAX_CANDIDATE_INCIDENTS])


def first_alerts(alert, incidents):
    """{incident id: the alert that opened it}. The first alert carries the incident's alert key
    and is usually still open, so the open alerts' (service, dedup key) index finds it; only for
    incidents whose first alert has resolved are their alerts read by incident."""
    key_of = {incident.pk: incident.alert_key for incident in incidents if incident.alert_key}
    rows = (Alert.objects.filter(Q(service_id=alert.service_id, dedup_key__in=set(key_of.values()),
                                   status__in=Alert.OPEN)).exclude(pk=alert.pk).only(*ALERT_FIELDS).order_by())
    found = {row.incident_id: row for row in rows
             if row.incident_id is not None and key_of.get(row.incident_id) == row.dedup_key}
    missing = {pk: key for pk, key in key_of.items() if pk not in found}
    if missing:
        resolved = (Alert.objects.filter(incident_id__in=missing, dedup_key__in=set(missing.values()))
                    .only(*ALERT_FIELDS).order_by("-id"))
        for row in resolved:
            if missing.get(row.incident_id) == row.dedup_key:
                found[row.incident_id] = row  # ordered newest first: the oldest is kept
    return found


def group_key(alert, label_names, service):
    """What "key" grouping compares: the chosen labels' values, or the alert's group key; None
    when the alert has none of them (it then groups with nothing)."""
    if label_names:
        alert.service = service  # the service label, without a query per alert
        labels = matchers.alert_labels(alert)
        values = tuple(labels.get(name, "") for name in label_names)
        return values if any(values) else None
    return alert.group_key or None


def _by_key(alert, settings, candidates):
    wanted = group_key(alert, settings.group_labels, alert.service)
    if wanted is None:
        return None
    first = first_alerts(alert, candidates)
    for incident in candidates:
        row = first.get(incident.pk)
        if row is not None and group_key(row, settings.group_labels, alert.service) == wanted:
            return incident
    return None


def _sharing_a_label(rows, wanted):
    """`rows` kept to alerts sharing one of the `wanted` (label, value) pairs, read as matching
    reads them: the label, or the alert's own field where the label is missing. Left as they are
    when a pair cannot be put in SQL (the service label): Python compares them all."""
    if any(name == matchers.SERVICE_LABEL for name, _ in wanted):
        return rows
    values, condition = {}, Q()
    for index, (name, value) in enumerate(sorted(wanted)):
        label = Cast(KeyTextTransform(name, "labels"), TextField())
        field = matchers.FIELD_LABELS.get(name)
        values[f"shared_{index}"] = label if field is None else Coalesce(label, F(field), output_field=TextField())
        condition |= Q(**{f"shared_{index}": value})
    return rows.alias(**values).filter(condition)


def _intelligent(alert, settings, candidates):
    names = settings.group_labels or INTELLIGENT_LABELS
    own = matchers.alert_labels(alert)
    wanted = {(name, own[name]) for name in names if own.get(name)}
    if not wanted:
        return None
    members = Alert.objects.filter(incident_id__in=[incident.pk for incident in candidates]).exclude(pk=alert.pk)
    rows = _sharing_a_label(members, wanted)
    by_incident = {}
    for row in rows.only(*ALERT_FIELDS).order_by("-id")[:MAX_COMPARED_ALERTS]:
        row.service = alert.service
        labels = matchers.alert_labels(row)
        if any(labels.get(name) == value for name, value in wanted):
            by_incident.setdefault(row.incident_id, row)
    for incident in candidates:
        if incident.pk in by_incident:
            return incident
    return None


@stage("grouping")
def decide(alert, settings, now):
    if settings.grouping not in (ServiceAlertSettings.BY_KEY, ServiceAlertSettings.INTELLIGENT):
        return None
    if alert.service_id is None:
        return None
    candidates = recent_open_incidents(alert.service_id, now - timedelta(minutes=settings.group_window_minutes))
    if not candidates:
        return None  # the first alert: it pages at once
    if settings.grouping == ServiceAlertSettings.BY_KEY:
        incident = _by_key(alert, settings, candidates)
        how = "the same group key"
    else:
        incident = _intelligent(alert, settings, candidates)
        how = "a matching label"
    if incident is None:
        return None
    return Decision(handling=Alert.GROUPED, reason=f"grouped into incident {incident.reference} ({how})",
                    incident=incident)
