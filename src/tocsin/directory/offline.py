"""The offline emergency list (B11): roles, their holders resolved now and people's own methods."""

import csv
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Prefetch
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.models import Team

from .compliance import contact_sheet
from .models import ContactMethod, OrgRole, Person, Site
from .resolution import delegate_for, holders, resolve_role, shared_methods

FORMATS = ("json", "csv")
# A webhook URL usually embeds a secret and is no use to someone holding a phone in an outage.
OFFLINE_KINDS = [kind for kind, _ in ContactMethod.KINDS if kind != ContactMethod.WEBHOOK]
_KIND_LABELS = dict(ContactMethod.KINDS)


@dataclass(frozen=True)
class Scope:
    """What an export covers: everyone, one site or one team."""

    kind: str  # all, site, team
    slug: str = ""
    name: str = ""
    obj: object = field(default=None, compare=False, repr=False)

    @classmethod
    def everyone(cls):
        return cls("all", "", "Everyone")

    @classmethod
    def of(cls, obj):
        return cls("site" if isinstance(obj, Site) else "team", obj.slug, obj.name, obj)

    @classmethod
    def lookup(cls, *, site="", team=""):
        """By slug; raises Site.DoesNotExist / Team.DoesNotExist for an unknown one."""
        if site and team:
            raise ValueError("Choose a site or a team, not both.")
        if site:
            return cls.of(Site.objects.get(slug=site))
        if team:
            return cls.of(Team.objects.get(slug=team))
        return cls.everyone()

    @property
    def label(self):
        return "everyone" if self.kind == "all" else f"{self.kind} {self.name}"

    @property
    def file_stem(self):
        return "all" if self.kind == "all" else f"{self.kind}-{self.slug}"

    def as_dict(self):
        return {"kind": self.kind, "slug": self.slug, "name": self.name}


def _method(method):
    return {
        "kind": method.kind, "kind_label": _KIND_LABELS.get(method.kind, method.kind), "label": method.label,
        "value": method.value, "availability": method.availability, "usage": method.usage,
    }


def _methods_by_person(person_ids):
    """Active offline-usable methods of these people, in the order they want to be tried: one query."""
    rows = ContactMethod.objects.filter(person_id__in=person_ids, is_active=True, kind__in=OFFLINE_KINDS)
    grouped = {}
    for method in rows.order_by("person_id", "order", "pk"):
        grouped.setdefault(method.person_id, []).append(_method(method))
    return grouped


def _role_entry(role, at, people, methods_of):
    # resolve_role drops who a delegate stands in for; the sheet shows it so the caller knows why.
    stands_in = {}
    for holder in holders(role, at):
        person = delegate_for(holder, at)
        if person.pk != holder.pk:
            stands_in.setdefault(person.pk, []).append(holder.name)
    return {
        "level": role.sheet_level,
        "role": role.name,
        "slug": role.slug,
        "team": role.team.slug if role.team_id else "",
        "critical": role.critical,
        "hours": role.hours,
        "response_commitment": role.response_commitment,
        "holders": [
            {"name": p.name, "stands_in_for": stands_in.get(p.pk, []), "methods": methods_of.get(p.pk, [])}
            for p in people
        ],
        "shared": [_method(m) for m in shared_methods(role) if m.kind in OFFLINE_KINDS],
    }


def _roles_in_scope(scope, roles):
    # Roles belong to teams, not sites: a site's envelope carries the whole installation's call tree.
    if scope.kind == "team":
        return [role for role in roles if role.team_id == scope.obj.pk]
    return list(roles)


def _people_in_scope(scope):
    people = Person.objects.filter(is_active=True).select_related("site").prefetch_related(
        Prefetch("teams", queryset=Team.objects.order_by("name"))
    )
    if scope.kind == "site":
        people = people.filter(site=scope.obj)
    elif scope.kind == "team":
        people = people.filter(teams=scope.obj)
    return list(people.order_by("name", "pk"))


def collect(scope, at=None):
    """The emergency list for `scope` as plain data, resolved at `at` (now by default)."""
    at = at or timezone.now()
    levels = contact_sheet(at)
    sheet_roles = {role.pk for role in _roles_in_scope(scope, [level.role for level in levels])}
    sheet = [level for level in levels if level.role.pk in sheet_roles]
    others = _roles_in_scope(scope, OrgRole.objects.filter(sheet_level__isnull=True).select_related("team").order_by("name"))
    other_people = {role.pk: resolve_role(role, at) for role in others}
    people = _people_in_scope(scope)

    person_ids = {p.pk for p in people}
    person_ids |= {p.pk for level in sheet for p in level.people}
    person_ids |= {p.pk for resolved in other_people.values() for p in resolved}
    methods_of = _methods_by_person(person_ids)

    groups = {}
    for person in people:
        teams = list(person.teams.all())
        if scope.kind == "team":
            teams = [scope.obj]
        site = person.site
        for team in teams or [None]:
            key = (site.name if site else "", team.name if team else "")
            group = groups.setdefault(key, {
                "site": {"slug": site.slug, "name": site.name, "time_zone": site.time_zone} if site else None,
                "team": {"slug": team.slug, "name": team.name} if team else None,
                "people": [],
            })
            group["people"].append({
                "name": person.name,
                "time_zone": person.time_zone,
                "teams": [t.slug for t in person.teams.all()],
                "organisation": person.organisation,
                "is_vendor": person.is_vendor,
                "support_sla": person.support_sla,
                "methods": methods_of.get(person.pk, []),
            })

    call_tree = [_role_entry(level.role, at, level.people, methods_of) for level in sheet]
    other_roles = [_role_entry(role, at, other_people[role.pk], methods_of) for role in others]
    data = {
        "generated_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "scope": scope.as_dict(),
        "call_tree": call_tree,
        "other_roles": other_roles,
        "groups": [groups[key] for key in sorted(groups, key=lambda k: (k[0] == "", k[0], k[1] == "", k[1]))],
    }
    data["counts"] = _counts(data, people=len(person_ids))
    return data


def _counts(data, people):
    methods = sum(len(p["methods"]) for g in data["groups"] for p in g["people"])
    methods += sum(len(h["methods"]) for r in data["call_tree"] + data["other_roles"] for h in r["holders"])
    methods += sum(len(r["shared"]) for r in data["call_tree"] + data["other_roles"])
    return {
        "people": people, "roles": len(data["call_tree"]) + len(data["other_roles"]),
        "sheet_levels": len(data["call_tree"]), "method_entries": methods,
    }


def content_digest(data):
    """SHA-256 of the list's content in a canonical form: what the printed envelope shows."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


_CSV_COLUMNS = [
    "section", "level", "role", "site", "team", "person", "stands_in_for", "kind", "label", "value",
    "availability", "usage", "hours", "response_commitment",
]


def _csv(data):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for section in ("call_tree", "other_roles"):
        for role in data[section]:
            base = {"section": section, "level": role["level"] or "", "role": role["role"], "team": role["team"],
                    "hours": role["hours"], "response_commitment": role["response_commitment"]}
            for holder in role["holders"]:
                rows = holder["methods"] or [{}]
                for method in rows:
                    writer.writerow({**base, "person": holder["name"], "stands_in_for": "; ".join(holder["stands_in_for"]),
                                     **_csv_method(method)})
            for method in role["shared"]:
                writer.writerow({**base, "person": "(shared channel)", **_csv_method(method)})
    for group in data["groups"]:
        base = {"section": "people", "site": (group["site"] or {}).get("name", ""), "team": (group["team"] or {}).get("slug", "")}
        for person in group["people"]:
            for method in person["methods"] or [{}]:
                writer.writerow({**base, "person": person["name"], **_csv_method(method)})
    return out.getvalue()


def _csv_method(method):
    return {key: method.get(key, "") for key in ("kind", "label", "value", "availability", "usage")}


def payload(data, fmt="json"):
    """The list serialised as bytes in `fmt`."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    if fmt == "csv":
        return _csv(data).encode()
    raise ValueError(f"Unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")


def archive(data, fmt="json"):
    """A tar holding manifest.json and the payload; returns (tar bytes, manifest)."""
    body = payload(data, fmt)
    generated = datetime.fromisoformat(data["generated_at"])
    scope = data["scope"]
    folder = f"tocsin-contacts-{scope['kind']}{'-' + scope['slug'] if scope['slug'] else ''}-{generated:%Y%m%dT%H%M%SZ}"
    manifest = {
        "format_version": 1,
        "generator": "tocsin export-contacts",
        "generated_at": data["generated_at"],
        "scope": data["scope"],
        "counts": data["counts"],
        "payload": {"file": f"contacts.{fmt}", "format": fmt, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()},
    }
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    mtime = int(generated.timestamp())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in (("manifest.json", manifest_bytes), (manifest["payload"]["file"], body)):
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mtime, info.mode = len(content), mtime, 0o600
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue(), manifest


def record_export(actor, scope, *, what, channel, counts_, sha256, fmt=""):
    """Audit one export. The summary says what was exported, never whom or which values."""
    return audit.record(
        actor, "contacts.exported", scope.obj,
        object_type="" if scope.obj is not None else "directory.all",
        summary={
            "scope": scope.kind, "slug": scope.slug, "what": what, "format": fmt, "channel": channel,
            "people": counts_["people"], "roles": counts_["roles"], "method_entries": counts_["method_entries"],
            "sha256": sha256,
        },
    )
