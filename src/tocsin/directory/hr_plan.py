"""Compare validated HR rows with the directory: what an import creates, changes, deactivates, disputes."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Q

from tocsin.core.crypto import blind_index

from .hr_csv import METHOD_COLUMNS, HrCsvError, Problem
from .models import ContactMethod, ExternalId, Person, SyncConflict, SyncRun
from .values import index_for, mask

LOCAL_SOURCES = ("ui", "api", "scim")
IDP_LABEL = "scim"  # the label SCIM provisioning gives the methods it maintains
PERSON_FIELDS = ("name", "time_zone", "site", "teams", "active")
CHUNK = 900  # below SQLite's historic limit of 999 query parameters
MASS_DEACTIVATION_SHARE, MASS_DEACTIVATION_FLOOR = 0.2, 10


def check_source(source):
    source = (source or "").strip()
    if not source or len(source) > 32 or not source.replace("-", "").replace("_", "").isalnum() or source == IDP_LABEL:
        raise HrCsvError([Problem(
            None, None, f"a source is 1 to 32 letters, digits, '-' or '_', such as 'hr', and not '{IDP_LABEL}'",
        )])
    return source


def show(name, value):
    """A value as an operator may see it in a preview: contact values masked."""
    if not value:
        return "(none)"
    if name in METHOD_COLUMNS:
        return mask(METHOD_COLUMNS[name], value)
    if name == "active":
        return "active" if value == "true" else "inactive"
    return value


def digest(name, value):
    return blind_index(value, f"sync-conflict:{name}")


@dataclass
class FieldChange:
    name: str
    old: str  # canonical text: slugs for site and teams, "true"/"false" for active, "" for none
    new: str

    def __str__(self):
        return f"{self.name} {show(self.name, self.old)} -> {show(self.name, self.new)}"


@dataclass
class Create:
    row: object


@dataclass
class Change:
    person: Person
    row: object
    fields: list
    link: bool = False  # matched by e-mail: the import adds the external id


@dataclass
class Deactivation:
    person: Person
    external_id: str
    reason: str


@dataclass
class Conflict:
    person: Person
    row: object
    name: str
    kind: str
    local_source: str
    local: str
    hr: str
    pending: SyncConflict | None = None  # already waiting for a steward with the same HR value

    @property
    def digest(self):
        return digest(self.name, self.hr)

    def __str__(self):
        origin = "the identity provider" if self.kind == SyncConflict.IDP else f"a local edit ({self.local_source})"
        return f"{self.name}: local {show(self.name, self.local)} from {origin}, HR {show(self.name, self.hr)}"


@dataclass
class Plan:
    source: str
    rows: list
    last_sync: object = None
    creates: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    deactivations: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    unchanged: int = 0
    skipped_inactive: int = 0  # rows marked inactive for people the directory does not know
    kept_local: int = 0  # changes a steward already declined for the same HR value
    active_people: int = 0
    methods: dict = field(default_factory=dict)  # (person id, column) -> the HR-managed ContactMethod
    stale_conflicts: list = field(default_factory=list)  # pending conflicts this file no longer raises

    @property
    def mass_deactivation(self):
        """A truncated export must not offboard everyone: big deactivations need explicit consent."""
        limit = max(MASS_DEACTIVATION_FLOOR, int(self.active_people * MASS_DEACTIVATION_SHARE))
        return len(self.deactivations) > limit

    @property
    def has_changes(self):
        return bool(self.creates or self.changes or self.deactivations)

    def counts(self):
        return {
            "rows": len(self.rows), "created": len(self.creates),
            "changed": sum(1 for c in self.changes if c.fields or c.link),
            "deactivated": len(self.deactivations), "conflicts": len(self.conflicts),
            "unchanged": self.unchanged, "skipped_inactive": self.skipped_inactive, "kept_local": self.kept_local,
        }

    def report(self, limit=50):
        """The preview an operator reads before applying; names are shown, contact values masked."""
        counts = self.counts()
        out = [
            f"source '{self.source}': {counts['rows']} row(s); create {counts['created']}, change {counts['changed']}, "
            f"deactivate {counts['deactivated']}, conflicts {counts['conflicts']}, unchanged {counts['unchanged']}"
        ]
        if self.skipped_inactive:
            out.append(f"{self.skipped_inactive} row(s) marked inactive for unknown people are skipped")
        if self.kept_local:
            out.append(f"{self.kept_local} change(s) a steward declined before (keep local) are left out")
        sections = [
            ("Create", self.creates, lambda c: f"line {c.row.line}  {c.row.external_id}  {c.row.name}"),
            ("Change", self.changes, lambda c: f"line {c.row.line}  {c.row.external_id}  {c.person.name}: "
             + "; ".join([*(["link by e-mail"] if c.link else []), *map(str, c.fields)])),
            ("Deactivate", self.deactivations, lambda d: f"{d.external_id}  {d.person.name} ({d.reason})"),
            ("Conflicts, stored for a steward", self.conflicts,
             lambda c: f"line {c.row.line}  {c.row.external_id}  {c.person.name}: {c}"),
        ]
        for title, items, render in sections:
            if items:
                out.append(f"{title}:")
                out.extend(f"  {render(item)}" for item in items[:limit])
                if len(items) > limit:
                    out.append(f"  ... and {len(items) - limit} more")
        if self.mass_deactivation:
            out.append(
                f"WARNING: {len(self.deactivations)} of {self.active_people} active people would be deactivated; "
                "applying needs --allow-mass-deactivation"
            )
        return "\n".join(out)


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def build(rows, source="hr"):
    """Compare `rows` with the directory; reads only, a fixed number of queries per thousand people."""
    source = check_source(source)
    plan = Plan(source=source, rows=rows)
    plan.last_sync = (
        SyncRun.objects.filter(source=source, status=SyncRun.OK).order_by("-started_at")
        .values_list("started_at", flat=True).first()
    )
    by_external = dict(ExternalId.objects.filter(source=source).values_list("value", "person_id"))
    linked = _link_by_email(rows, by_external, source)
    state = _State(set(by_external.values()) | set(linked.values()))
    plan.active_people = sum(1 for pid in set(by_external.values()) if state.people[pid].is_active)

    matched, candidates = {}, []
    for row in rows:
        pid = by_external.get(row.external_id) or linked.get(row.external_id)
        if pid is None:
            if row.active:
                plan.creates.append(Create(row))
            else:
                plan.skipped_inactive += 1
            continue
        if pid in matched:
            raise HrCsvError([Problem(
                row.line, "external_id", f"refers to the same person as line {matched[pid]}; merge the two rows",
            )])
        matched[pid] = row.line
        person = state.people[pid]
        if not row.active:
            if person.is_active:
                plan.deactivations.append(Deactivation(person, row.external_id, "marked inactive in the file"))
            else:
                plan.unchanged += 1
            continue
        changes = _compare(person, row, state, plan)
        link = row.external_id in linked
        if changes or link:
            candidates.append(Change(person, row, changes, link))
        else:
            plan.unchanged += 1
    for external_id, pid in by_external.items():
        person = state.people[pid]
        if pid not in matched and person.is_active:
            matched[pid] = None  # a person with two ids of this source is deactivated once
            plan.deactivations.append(Deactivation(person, external_id, "missing from the file"))
    _find_conflicts(plan, candidates, state)
    return plan


def _link_by_email(rows, by_external, source):
    """People entered by hand before the first import are found by their work e-mail, not duplicated."""
    wanted = defaultdict(list)
    for row in rows:
        if row.external_id not in by_external and row.email and row.active:
            wanted[index_for("email", row.email)].append(row.external_id)
    found = defaultdict(set)
    for chunk in _chunks(wanted):
        methods = (
            ContactMethod.objects.filter(kind=ContactMethod.EMAIL, value_index__in=chunk, is_active=True,
                                         person__is_active=True)
            .exclude(person__external_ids__source=source).values_list("value_index", "person_id")
        )
        for index, pid in methods:
            found[index].add(pid)
    linked, used = {}, defaultdict(int)
    for index, pids in found.items():
        if len(pids) == 1 and len(wanted[index]) == 1:
            used[next(iter(pids))] += 1
            linked[wanted[index][0]] = next(iter(pids))
    # One person's e-mail on two methods matching two rows is ambiguous: create instead.
    return {external_id: pid for external_id, pid in linked.items() if used[pid] == 1}


class _State:
    """The directory's side of the comparison, loaded in bulk."""

    def __init__(self, ids):
        self.people, self.teams, self.methods, self.idp_linked = {}, defaultdict(set), defaultdict(list), set()
        through = Person.teams.through
        for chunk in _chunks(ids):
            self.people.update((p.pk, p) for p in Person.objects.filter(pk__in=chunk).select_related("site"))
            for pid, slug in through.objects.filter(person_id__in=chunk).values_list("person_id", "team__slug"):
                self.teams[pid].add(slug)
            kinds = set(METHOD_COLUMNS.values())
            for method in ContactMethod.objects.filter(person_id__in=chunk, kind__in=kinds).order_by("order", "pk"):
                self.methods[method.person_id, method.kind].append(method)
            self.idp_linked.update(
                ExternalId.objects.filter(person_id__in=chunk, source__startswith="scim:").values_list("person_id", flat=True)
            )


def managed_method(candidates, source, value):
    """The method an HR column maintains: one labelled with the source, else one already holding the
    value (adopted without relabelling), else the identity provider's (so that a different value is a
    conflict rather than a second address). None: the import adds one."""
    for label in (source, IDP_LABEL):
        labelled = [m for m in candidates if m.label == label]
        if labelled:
            return sorted(labelled, key=lambda m: not m.is_active)[0]
        same = next((m for m in candidates if m.value == value), None)
        if same is not None:
            return same
    return None


def method_text(method):
    return method.value if method is not None and method.is_active else ""


def current_value(person, name, source, hr_value=""):
    """The directory's value of one HR field, in the canonical text FieldChange uses (a few queries)."""
    if name in ("name", "time_zone"):
        return getattr(person, name)
    if name == "site":
        return person.site.slug if person.site_id else ""
    if name == "teams":
        return ";".join(sorted(person.teams.values_list("slug", flat=True)))
    if name == "active":
        return "true" if person.is_active else "false"
    candidates = ContactMethod.objects.filter(person=person, kind=METHOD_COLUMNS[name]).order_by("order", "pk")
    return method_text(managed_method(list(candidates), source, hr_value))


def _compare(person, row, state, plan):
    changes = []

    def differ(name, old, new):
        if old != new:
            changes.append(FieldChange(name, old, new))

    differ("name", person.name, row.name)
    if row.time_zone:
        differ("time_zone", person.time_zone, row.time_zone)
    if row.site is not None:
        differ("site", person.site.slug if person.site else "", row.site.slug)
    if row.teams is not None:
        differ("teams", ";".join(sorted(state.teams[person.pk])), ";".join(t.slug for t in row.teams))
    if not person.is_active:
        changes.append(FieldChange("active", "false", "true"))
    for column, kind in METHOD_COLUMNS.items():
        value = row.method(column)
        if value:
            method = managed_method(state.methods[person.pk, kind], plan.source, value)
            plan.methods[person.pk, column] = method
            differ(column, method_text(method), value)
    return changes


def _local_q():
    return Q(*[Q(history_change_reason__startswith=f"{s}:") for s in LOCAL_SOURCES], _connector=Q.OR)


def _find_conflicts(plan, candidates, state):
    """Split each candidate's changes into those that apply and those a steward must decide (see
    SyncConflict): a field edited locally since the last sync, or last set by the identity provider.
    A conflict still pending, or declined for the same HR value, stays with the steward."""
    earlier = defaultdict(list)
    for conflict in SyncConflict.objects.filter(
        source=plan.source, status__in=[SyncConflict.PENDING, SyncConflict.KEPT_LOCAL]
    ).order_by("detected_at", "pk"):
        earlier[conflict.person_id, conflict.field].append(conflict)
    changed = {c.person.pk: c for c in candidates if c.fields}
    writers = _last_writers(plan, changed, state)
    kept_pending = set()
    for change in candidates:
        pid, remaining, conflicts_before = change.person.pk, [], len(plan.conflicts)
        for fc in change.fields:
            previous = earlier.get((pid, fc.name), [])
            pending = next((c for c in previous if c.status == SyncConflict.PENDING), None)
            # A steward's 'keep local' stands while the local value is the one kept.
            declined = [c for c in previous if c.status == SyncConflict.KEPT_LOCAL]
            declined = declined[-1] if declined and declined[-1].local_value == fc.old else None
            if declined is not None and declined.hr_digest == digest(fc.name, fc.new):
                plan.kept_local += 1
                continue
            when, by = writers.get((pid, fc.name), (None, ""))
            kind = None
            if declined is not None:
                kind, by = declined.kind, declined.local_source
            elif by == "scim" and pid in state.idp_linked:
                kind = SyncConflict.IDP
            elif by in LOCAL_SOURCES and (plan.last_sync is None or when > plan.last_sync):
                kind = SyncConflict.LOCAL_EDIT
            elif pending is not None:
                kind, by = pending.kind, pending.local_source
            if kind is None:
                remaining.append(fc)
                continue
            same = pending if pending is not None and pending.hr_digest == digest(fc.name, fc.new) else None
            if same is not None:
                kept_pending.add(same.pk)
            plan.conflicts.append(Conflict(change.person, change.row, fc.name, kind, by, fc.old, fc.new, same))
        change.fields = remaining
        if remaining or change.link:
            plan.changes.append(change)
        elif len(plan.conflicts) == conflicts_before:
            plan.unchanged += 1
    plan.stale_conflicts = [
        c.pk for items in earlier.values() for c in items if c.status == SyncConflict.PENDING and c.pk not in kept_pending
    ]


def _last_writers(plan, changed, state):
    """(person id, field) -> (when, source) of the last history row that changed the field, for the
    changed people whose history shows any local edit at all (usually few, so the cost stays small)."""
    ids = list(changed)
    touched = set()
    method_ids = {m.pk for (pid, _), m in plan.methods.items() if m is not None and pid in changed}
    for chunk in _chunks(ids):
        touched.update(Person.history.filter(id__in=chunk).filter(_local_q()).values_list("id", flat=True).distinct())
    for chunk in _chunks(method_ids):
        touched.update(
            ContactMethod.history.filter(id__in=chunk).filter(_local_q()).values_list("person_id", flat=True).distinct()
        )
    writers = {}
    if not touched:
        return writers
    snapshot_model = apps.get_model("directory", "HistoricalPerson_teams")
    for chunk in _chunks(touched):
        rows = list(
            Person.history.filter(id__in=chunk).order_by("id", "history_date", "history_id")
            .values("history_id", "id", "history_date", "history_change_reason", "name", "time_zone", "site_id", "is_active")
        )
        teams = defaultdict(set)
        for history_ids in _chunks([r["history_id"] for r in rows]):
            for hid, team_id in snapshot_model.objects.filter(history_id__in=history_ids).values_list("history_id", "team_id"):
                teams[hid].add(team_id)
        previous = None
        for row in rows:
            by = (row["history_change_reason"] or "").split(":", 1)[0]
            state_now = {
                "name": row["name"], "time_zone": row["time_zone"], "site": row["site_id"],
                "active": row["is_active"], "teams": frozenset(teams[row["history_id"]]),
            }
            if previous is None or previous[0] != row["id"]:
                changed_fields = state_now.keys()
            else:
                changed_fields = [k for k, v in state_now.items() if previous[1][k] != v]
            for name in changed_fields:
                writers[row["id"], name] = (row["history_date"], by)
            previous = (row["id"], state_now)
    column_of = {(m.pk): column for (pid, column), m in plan.methods.items() if m is not None and pid in touched}
    for chunk in _chunks(column_of):
        previous = None
        for version in ContactMethod.history.filter(id__in=chunk).order_by("id", "history_date", "history_id"):
            text = version.value if version.is_active else ""
            if previous is None or previous[0] != version.id or previous[1] != text:
                by = (version.history_change_reason or "").split(":", 1)[0]
                writers[version.person_id, column_of[version.id]] = (version.history_date, by)
            previous = (version.id, text)
    return writers
