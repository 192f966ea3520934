"""Use cases for HR/IdP imports: apply a file all-or-nothing, sync a file when it changed, resolve conflicts."""

import logging
from collections import defaultdict

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.models import Team, User

from .. import hr_csv, hr_plan
from ..hr_csv import METHOD_COLUMNS, HrCsvError
from ..models import ContactMethod, ExternalId, Person, Site, SyncConflict, SyncRun
from ..values import index_for
from tocsin.core.history import stamp
from .methods import add_method, update_method
from .people import add_external_id, deactivate_person, reactivate_person, update_person

log = logging.getLogger("tocsin.directory.sync")
BATCH = 500
CHOICES = {"keep_local": SyncConflict.KEPT_LOCAL, "local": SyncConflict.KEPT_LOCAL,
           "take_hr": SyncConflict.TOOK_HR, "hr": SyncConflict.TOOK_HR}


class ImportRefused(Exception):
    """The file is valid but applying it looks like a mistake; nothing was written."""


def preview(data, *, source="hr"):
    """The plan for `data` (bytes of a CSV export) without writing anything."""
    return hr_plan.build(hr_csv.parse(data), source)


def import_file(path, *, actor, source="hr", via="csv", allow_mass_deactivation=False):
    """Read, validate and apply an export in one transaction. Raises HrCsvError or ImportRefused
    (nothing written) or returns (SyncRun, Plan)."""
    data = hr_csv.read(path)
    return import_data(data, actor=actor, source=source, via=via, allow_mass_deactivation=allow_mass_deactivation)


def import_data(data, *, actor, source="hr", via="csv", allow_mass_deactivation=False):
    if via not in {"csv", "sync"}:
        raise ValueError(f"an import runs via 'csv' or 'sync', not {via!r}")
    rows = hr_csv.parse(data)
    started = timezone.now()
    with transaction.atomic():
        # Planned inside the transaction, so that what is applied is what was compared.
        plan = hr_plan.build(rows, source)
        if plan.mass_deactivation and not allow_mass_deactivation:
            raise ImportRefused(
                f"the file would deactivate {len(plan.deactivations)} of {plan.active_people} active people "
                f"of source '{plan.source}'; if that is right, allow a mass deactivation explicitly"
            )
        run = SyncRun.objects.create(source=plan.source, via=via, started_at=started, checksum=hr_csv.checksum(data))
        _apply(plan, run, actor=actor, via=via)
        run.counts, run.finished_at = plan.counts(), timezone.now()
        run.save(update_fields=["counts", "finished_at"])
        audit.record(actor, "directory.hr_imported", run, summary={"source": plan.source, "via": via, **run.counts})
    return run, plan


def sync_file(path, *, actor, source="hr"):
    """The scheduled sync: import `path` unless the last run of this source saw the same bytes.
    Returns the SyncRun (also for a refused or invalid file, which is recorded, not raised), or None."""
    try:
        data = hr_csv.read(path)
    except HrCsvError as exc:
        log.warning("HR sync file unreadable", extra={"sync_source": source, "sync_problem": exc.report(3)})
        return None
    checksum = hr_csv.checksum(data)
    last = SyncRun.objects.filter(source=source).order_by("-started_at", "-pk").values_list("checksum", flat=True).first()
    if last == checksum:
        return None
    try:
        run, _ = import_data(data, actor=actor, source=source, via="sync")
    except (HrCsvError, ImportRefused) as exc:
        failed = isinstance(exc, HrCsvError)
        problem = exc.report(20) if failed else str(exc)
        run = SyncRun.objects.create(
            source=source, via="sync", checksum=checksum, finished_at=timezone.now(),
            status=SyncRun.FAILED if failed else SyncRun.REFUSED, problem=problem,
        )
        audit.record(actor, "directory.hr_sync_rejected", run, summary={"source": source, "status": run.status})
        log.warning("HR sync rejected the file; nothing written", extra={"sync_source": source, "sync_status": run.status})
        return run
    # Prefixed: LogRecord already has a `created` attribute.
    log.info("HR sync applied", extra={"sync_source": source, **{f"sync_{k}": v for k, v in run.counts.items()}})
    return run


def _apply(plan, run, *, actor, via):
    teams, sites = _Catalogue(), _Catalogue()
    _create_people(plan, actor=actor, via=via)
    for change in plan.changes:
        if change.link:
            add_external_id(change.person, plan.source, change.row.external_id, actor=actor)
        methods = {column: plan.methods.get((change.person.pk, column)) for column in METHOD_COLUMNS}
        _set_fields(change.person, {fc.name: fc.new for fc in change.fields}, methods,
                    actor=actor, via=via, source=plan.source, teams=teams, sites=sites)
    for deactivation in plan.deactivations:
        deactivate_person(deactivation.person, actor=actor, source=via)
    _queue_conflicts(plan, run)


class _Stamped:
    pass


def _create_people(plan, *, actor, via):
    """New people in bulk: a first import of a whole company would otherwise cost some twenty
    statements per person. The rows were validated and normalised by hr_csv, as create_person and
    add_method would; the history rows and one audit entry per person are still written."""
    if not plan.creates:
        return
    probe = _Stamped()
    stamp(probe, actor, via)  # the same change reason and history user as the single-person services
    reason, user = probe._change_reason, probe._history_user
    now = timezone.now()
    people = []
    for create in plan.creates:
        row = create.row
        person = Person(name=row.name, site=row.site, created_at=now, updated_at=now)
        if row.time_zone:
            person.time_zone = row.time_zone
        people.append(person)
    Person.objects.bulk_create(people, batch_size=BATCH)
    through = Person.teams.through
    memberships = [
        through(person_id=person.pk, team_id=team.pk)
        for person, create in zip(people, plan.creates, strict=True) for team in create.row.teams or ()
    ]
    through.objects.bulk_create(memberships, batch_size=BATCH)
    history = Person.history.bulk_history_create(
        people, batch_size=BATCH, default_user=user, default_change_reason=reason, default_date=now
    )
    snapshot = apps.get_model("directory", "HistoricalPerson_teams")
    version_of = {version.id: version for version in history}
    snapshot.objects.bulk_create(
        [snapshot(id=m.pk, history=version_of[m.person_id], person_id=m.person_id, team_id=m.team_id) for m in memberships],
        batch_size=BATCH,
    )
    ExternalId.objects.bulk_create(
        [ExternalId(person=p, source=plan.source, value=c.row.external_id) for p, c in zip(people, plan.creates, strict=True)],
        batch_size=BATCH,
    )
    methods = [
        ContactMethod(person=person, kind=kind, value=create.row.method(column),
                      value_index=index_for(kind, create.row.method(column)), label=plan.source)
        for person, create in zip(people, plan.creates, strict=True)
        for column, kind in METHOD_COLUMNS.items() if create.row.method(column)
    ]
    ContactMethod.objects.bulk_create(methods, batch_size=BATCH)
    ContactMethod.history.bulk_history_create(
        methods, batch_size=BATCH, default_user=user, default_change_reason=reason, default_date=now
    )
    kinds = defaultdict(list)
    for method in methods:
        kinds[method.person_id].append(method.kind)
    for person, create in zip(people, plan.creates, strict=True):
        audit.record(actor, "person.created", person, at=now, summary={
            "source": via, "teams": [t.slug for t in create.row.teams or ()],
            "external_id": plan.source, "methods": kinds[person.pk],
        })


def _queue_conflicts(plan, run):
    now = timezone.now()
    # Superseded first: the partial unique constraint allows one pending conflict per field.
    SyncConflict.objects.filter(pk__in=plan.stale_conflicts).update(status=SyncConflict.SUPERSEDED, resolved_at=now)
    fresh = []
    for conflict in plan.conflicts:
        if conflict.pending is not None:
            if conflict.pending.local_value != conflict.local:
                conflict.pending.local_value = conflict.local
                conflict.pending.save(update_fields=["local_value"])
            continue
        fresh.append(SyncConflict(
            run=run, person=conflict.person, source=plan.source, field=conflict.name, kind=conflict.kind,
            local_source=conflict.local_source, hr_value=conflict.hr, hr_digest=conflict.digest,
            local_value=conflict.local, detected_at=now,
        ))
    SyncConflict.objects.bulk_create(fresh, batch_size=500)


class _Catalogue(dict):
    """Teams or sites by slug, fetched once per import."""

    def team(self, slug):
        if not self:
            self.update(Team.objects.in_bulk(field_name="slug"))
        return self.get(slug)

    def site(self, slug):
        if not self:
            self.update(Site.objects.in_bulk(field_name="slug"))
        return self.get(slug)


def _set_fields(person, values, methods, *, actor, via, source, teams, sites):
    """Give `person` the HR values (canonical text per field, see hr_plan.FieldChange), each through
    its use case; person fields in one update so the history and audit show one change."""
    if values.get("active") == "true" and not person.is_active:
        reactivate_person(person, actor=actor, source=via)
    fields, new_teams = {}, None
    for name in ("name", "time_zone"):
        if name in values:
            fields[name] = values[name]
    if "site" in values:
        fields["site"] = sites.site(values["site"])
        if fields["site"] is None:
            raise ValidationError({"site": f"The site '{values['site']}' no longer exists."})
    if "teams" in values:
        slugs = [s for s in values["teams"].split(";") if s]
        new_teams = [teams.team(s) for s in slugs]
        if None in new_teams:
            raise ValidationError({"teams": "A team named in the HR data no longer exists."})
    if fields or new_teams is not None:
        update_person(person, actor=actor, source=via, teams=new_teams, **fields)
    for column, kind in METHOD_COLUMNS.items():
        if values.get(column):
            method = methods.get(column)
            if method is None:
                add_method(actor=actor, source=via, person=person, kind=kind, value=values[column], label=source)
            else:
                update_method(method, actor=actor, source=via, value=values[column], is_active=True)


def resolve_conflict(conflict, choice, *, actor):
    """A steward decides a pending conflict: 'keep_local' leaves the person as is (and later imports
    of the same HR value do not ask again); 'take_hr' applies the HR value now."""
    status = CHOICES.get(choice)
    if status is None:
        raise ValidationError({"choice": "Choose 'keep_local' or 'take_hr'."})
    with transaction.atomic():
        conflict = SyncConflict.objects.select_for_update().select_related("person").get(pk=conflict.pk)
        if conflict.status != SyncConflict.PENDING:
            raise ValidationError({"status": f"This conflict is already {conflict.get_status_display().lower()}."})
        if status == SyncConflict.TOOK_HR:
            _take_hr(conflict, actor=actor)
        else:
            # What was kept is what is there now, even if it was edited again while the conflict waited.
            conflict.local_value = hr_plan.current_value(conflict.person, conflict.field, conflict.source, conflict.hr_value)
        conflict.status, conflict.resolved_at = status, timezone.now()
        conflict.resolved_by = User.objects.filter(pk=actor.id).first() if actor.type == "user" and actor.id else None
        conflict.save(update_fields=["status", "resolved_at", "resolved_by", "local_value"])
        audit.record(
            actor, "directory.sync_conflict_resolved", conflict,
            summary={"person": conflict.person_id, "field": conflict.field, "source": conflict.source, "choice": status},
        )
    return conflict


def _take_hr(conflict, *, actor):
    person = Person.objects.select_related("site").get(pk=conflict.person_id)
    methods = {}
    if conflict.field in METHOD_COLUMNS:
        kind = METHOD_COLUMNS[conflict.field]
        candidates = list(ContactMethod.objects.filter(person=person, kind=kind).order_by("order", "pk"))
        methods[conflict.field] = hr_plan.managed_method(candidates, conflict.source, conflict.hr_value)
    if conflict.field == "active" and conflict.hr_value != "true":
        raise ValidationError({"field": "Only a reactivation can be in conflict."})
    _set_fields(person, {conflict.field: conflict.hr_value}, methods, actor=actor, via="sync",
                source=conflict.source, teams=_Catalogue(), sites=_Catalogue())


EXPORT_ID_PREFIX = "tocsin-"


def export_people(people, *, actor, source=""):
    """People as rows in the format hr_csv reads (header first), so an export imports again
    unchanged; the export itself is audited with counts only. `people` should prefetch `teams`,
    `methods` and `external_ids`. The external_id is the person's id in `source` when they have
    one, else 'tocsin-<id>': an import of that source links such a row to the person by work e-mail,
    and creates a new person when no e-mail matches."""
    header = ["external_id", "name", "email", "mobile", "phone", "team", "site", "time_zone", "active"]
    rows, filled = [header], 0
    for person in people:
        ids = {e.source: e.value for e in person.external_ids.all()}
        cells = {
            "external_id": ids.get(source) or f"{EXPORT_ID_PREFIX}{person.pk}",
            "name": person.name,
            "team": ";".join(sorted(t.slug for t in person.teams.all())),
            "site": person.site.slug if person.site_id else "",
            "time_zone": person.time_zone,
            "active": "true" if person.is_active else "false",
        }
        for column, kind in METHOD_COLUMNS.items():
            method = _exported_method(person, kind, source)
            cells[column] = method.value if method is not None else ""
            filled += method is not None
        rows.append([cells[name] for name in header])
    with transaction.atomic():
        audit.record(actor, "contacts.csv_exported", object_type="directory.people", summary={
            "people": len(rows) - 1, "method_values": filled, "source": source, "format": "csv",
        })
    return rows


def _exported_method(person, kind, source):
    """The method an import of `source` would maintain for this column (see hr_plan.managed_method),
    else the first active one of its kind."""
    active = [m for m in person.methods.all() if m.kind == kind and m.is_active]
    labelled = [m for m in active if source and m.label == source]
    return (labelled or active or [None])[0]
