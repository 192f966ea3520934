"""The role-validation audit (D6): every target of every policy and every schedule's participants
must exist, be active, hold its role and be reachable at `now`; a run is stored as evidence."""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.directory.models import ContactMethod, Delegation, OrgRole, Person, RoleHolding
from tocsin.directory.resolution import MAX_DELEGATION_HOPS
from tocsin.oncall.models import Participant, Schedule
from tocsin.oncall.selectors import oncall_everywhere, vacancies_by_schedule

from . import spec as specs
from .targets import administrators
from .models import EscalationPolicy, ServicePolicy, TargetAudit

ERROR, WARNING, INFO = "error", "warning", "info"
LEVELS = (ERROR, WARNING, INFO)
ENDING_SOON = timedelta(days=14)


@dataclass(frozen=True)
class Finding:
    level: str
    subject: str
    message: str
    fix_url: str

    def as_dict(self):
        return asdict(self)


@dataclass
class Report:
    ran_at: datetime
    checked: int = 0
    findings: list = field(default_factory=list)

    @property
    def counts(self):
        return count_levels(self.findings)

    @property
    def has_errors(self):
        return self.counts[ERROR] > 0

    def as_dict(self):
        return {"ran_at": self.ran_at.isoformat(), "checked": self.checked, "counts": self.counts,
                "findings": [f.as_dict() for f in self.findings]}


def count_levels(findings):
    """{"error": n, "warning": n, "info": n} of Findings or their stored dicts."""
    counts = dict.fromkeys(LEVELS, 0)
    for finding in findings:
        level = finding["level"] if isinstance(finding, dict) else finding.level
        counts[level] = counts.get(level, 0) + 1
    return counts


def _when(instant):
    return f"{instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class _Links:
    """Where each kind of finding is fixed."""

    @staticmethod
    def person(pk):
        return reverse("directory-person", args=[pk])

    @staticmethod
    def role(role):
        return reverse("directory-roles") + f"#role-{role.slug}"

    @staticmethod
    def schedule(schedule):
        return reverse("oncall-schedule", args=[schedule.slug])

    @staticmethod
    def policy_edit(pk):
        return reverse("escalation-policy-edit", args=[pk])

    @staticmethod
    def policy(pk):
        return reverse("escalation-policy", args=[pk])

    @staticmethod
    def service(pk):
        return reverse("catalog-service", args=[pk])

    @staticmethod
    def admins():
        return reverse("admin-users")


class _Directory:
    """People, their methods, roles and holdings, loaded in a fixed number of queries."""

    def __init__(self, now, person_ids, role_ids):
        self.now = now
        self.roles = OrgRole.objects.in_bulk(set(role_ids))
        # Holdings current now, or starting before the end of the "ending soon" window (successors).
        rows = (RoleHolding.objects.filter(role_id__in=list(self.roles), starts_at__lt=now + ENDING_SOON)
                .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
                .order_by("role_id", "starts_at", "pk")
                .values_list("role_id", "person_id", "starts_at", "ends_at"))
        self.holdings = defaultdict(list)
        ids = set(person_ids)
        for role_id, person_id, starts_at, ends_at in rows:
            self.holdings[role_id].append((person_id, starts_at, ends_at))
            ids.add(person_id)
        # Delegations in force now: pages to a delegator go to whoever stands in (resolution.delegate_for).
        self.delegations = defaultdict(list)
        for delegator, delegate, ends_at in (Delegation.objects.filter(Delegation.current(now))
                                             .order_by("-starts_at", "-pk")
                                             .values_list("delegator_id", "delegate_id", "ends_at")):
            self.delegations[delegator].append((delegate, ends_at))
            ids.update((delegator, delegate))
        self.people = Person.objects.only("pk", "name", "is_active").in_bulk(ids)
        self.methods = defaultdict(list)
        for person_id, usage, verified in (ContactMethod.objects.filter(person_id__in=ids, is_active=True)
                                           .values_list("person_id", "usage", "verified")):
            self.methods[person_id].append((usage, verified))

    def active(self, person_id):
        person = self.people.get(person_id)
        return person is not None and person.is_active

    def holders(self, role_id):
        """(person id, ends_at) of the active people holding the role now."""
        return [(pid, ends) for pid, starts, ends in self.holdings.get(role_id, ())
                if starts <= self.now and self.active(pid)]

    def inactive_holders(self, role_id):
        return [self.people[pid].name for pid, starts, _ in self.holdings.get(role_id, ())
                if starts <= self.now and pid in self.people and not self.active(pid)]

    def held_at(self, role_id, instant, *, besides):
        """Someone other than `besides` (active) holds the role at `instant`."""
        return any(pid != besides and self.active(pid) and starts <= instant and (ends is None or ends > instant)
                   for pid, starts, ends in self.holdings.get(role_id, ()))

    def stand_in(self, person_id):
        """(person id, until) of whoever takes `person_id`'s pages now, following chains as
        resolution.delegate_for does; None when nobody stands in."""
        seen, current, until = {person_id}, person_id, None
        for _ in range(MAX_DELEGATION_HOPS):
            found = next(((d, e) for d, e in self.delegations.get(current, ()) if self.active(d)), None)
            if found is None or found[0] in seen:
                break
            current, until = found[0], min(until or found[1], found[1])
            seen.add(current)
        return None if current == person_id else (current, until)

    def reach_problem(self, person_id, note=""):
        """(level, message) when the person cannot be paged for every urgency, else None. `note`
        says why they matter ("on call now"); it follows the name in the message."""
        name = self.people[person_id].name + (f" ({note})" if note else "")
        methods = self.methods.get(person_id, ())
        verified = [usage for usage, ok in methods if ok]
        if ContactMethod.ROUTINE in verified:
            return None
        if verified:
            return WARNING, (f"{name} has only emergency-only verified contact methods, so routine "
                             "(non-emergency) pages cannot reach them")
        if methods:
            return ERROR, (f"{name} has no verified contact method ({len(methods)} active "
                           f"method{'s' if len(methods) != 1 else ''} not verified yet)")
        return ERROR, f"{name} has no active contact method"


class _Audit:
    def __init__(self, now):
        self.now = now
        self.report = Report(ran_at=now)

    def add(self, level, subject, message, fix_url):
        self.report.findings.append(Finding(level, subject, message, fix_url))

    def run(self):
        now = self.now
        policies = list(EscalationPolicy.objects.select_related("current").order_by("name"))
        parsed = {policy.pk: self._parse(policy) for policy in policies}
        targets = [target for spec in parsed.values() if spec for _, target in specs.all_targets(spec)]
        schedules = {s.pk: s for s in Schedule.objects.order_by("name")}
        slots = list(Participant.objects.order_by("layer__schedule_id", "-layer__level", "position")
                     .values_list("layer__schedule_id", "layer__name", "person_id", "role_id"))
        on_call = oncall_everywhere(now, Schedule.objects.all()) if schedules else {}
        vacant = vacancies_by_schedule(Schedule.objects.all(), now) if schedules else {}
        fallback_ids = list(administrators().values_list("pk", flat=True))
        person_ids = ({t.id for t in targets if t.type == "person"}
                      | {pid for _, _, pid, _ in slots if pid}
                      | {entry.person.pk for found in on_call.values() for entry in found if entry.person}
                      | set(fallback_ids))
        role_ids = {t.id for t in targets if t.type == "role"} | {rid for _, _, _, rid in slots if rid}
        self.directory = _Directory(now, person_ids, role_ids)
        self.schedules, self.on_call = schedules, on_call

        for policy in policies:
            self._check_policy(policy, parsed[policy.pk])
        slots_of = defaultdict(list)
        for slot in slots:
            slots_of[slot[0]].append(slot)
        for schedule in schedules.values():
            self._check_schedule(schedule, slots_of[schedule.pk], vacant.get(schedule.pk, []))
        self._check_installation_fallback(fallback_ids)
        self._check_links(policies)
        order = {level: n for n, level in enumerate(LEVELS)}
        self.report.findings.sort(key=lambda f: order[f.level])  # stable: within a level, as checked
        return self.report

    # Policies

    def _parse(self, policy):
        if policy.current is None:
            self.add(ERROR, policy.name, "The policy has no current version, so it pages nobody.",
                     _Links.policy_edit(policy.pk))
            return None
        try:
            return specs.parse(policy.current.spec)
        except ValidationError as exc:  # a stored document the validator no longer accepts
            problems = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in exc.message_dict.items())
            self.add(ERROR, policy.name, f"Version {policy.current.number} is no longer valid ({problems}).",
                     _Links.policy_edit(policy.pk))
            return None

    def _check_policy(self, policy, spec):
        if spec is None:
            return
        for index, tier in enumerate(spec.tiers):
            for target in tier.targets:
                self._check_target(policy, f"tier {index + 1}", target)
            for target in tier.backup:
                self._check_target(policy, f"tier {index + 1} backup", target)
        for target in spec.fallback:
            self._check_target(policy, "fallback", target)

    def _check_target(self, policy, where, target):
        self.report.checked += 1
        directory = self.directory
        edit = _Links.policy_edit(policy.pk)
        if target.type == "person":
            person = directory.people.get(target.id)
            subject = f"{policy.name} · {where} · person {person.name if person else f'#{target.id}'}"
            if person is None:
                self.add(ERROR, subject, f"There is no person with id {target.id} any more: replace the target.", edit)
            elif not person.is_active:
                self.add(ERROR, subject, f"{person.name} is deactivated: replace them in the policy.", edit)
            else:
                self._check_reach(subject, person.pk)
        elif target.type == "role":
            role = directory.roles.get(target.id)
            subject = f"{policy.name} · {where} · role {role.name if role else f'#{target.id}'}"
            if role is None:
                self.add(ERROR, subject, f"There is no org role with id {target.id} any more: replace the target.",
                         edit)
            else:
                self._check_role(subject, role)
        else:
            schedule = self.schedules.get(target.id)
            subject = f"{policy.name} · {where} · schedule {schedule.name if schedule else f'#{target.id}'}"
            if schedule is None:
                self.add(ERROR, subject, f"There is no schedule with id {target.id} any more: replace the target.",
                         edit)
            elif not self.on_call.get(schedule.pk):
                self.add(ERROR, subject, f"Nobody is on call on {schedule.name} now, so this target pages nobody.",
                         _Links.schedule(schedule))

    def _check_reach(self, subject, person_id, note="", *, follow=True):
        problem = self.directory.reach_problem(person_id, note)
        if problem:
            level, message = problem
            self.add(level, subject, f"{message}.", _Links.person(person_id))
        stand_in = self.directory.stand_in(person_id) if follow else None
        if stand_in:
            delegate, until = stand_in
            away = self.directory.people[person_id].name
            self._check_reach(subject, delegate, f"standing in for {away} until {_when(until)}", follow=False)

    def _check_role(self, subject, role, *, reach=True):
        directory = self.directory
        holders = directory.holders(role.pk)
        if not holders:
            inactive = directory.inactive_holders(role.pk)
            why = f" (held only by deactivated people: {', '.join(inactive)})" if inactive else ""
            self.add(ERROR, subject, f"Role {role.name} has no current holder{why}, so it pages nobody.",
                     _Links.role(role))
            return
        for person_id, ends_at in holders:
            name = directory.people[person_id].name
            if reach:
                self._check_reach(f"{subject} · holder {name}", person_id)
            if ends_at is not None and ends_at <= self.now + ENDING_SOON:
                after = ("" if directory.held_at(role.pk, ends_at, besides=person_id)
                         else "; nobody holds the role after that")
                self.add(WARNING, subject, f"{name}'s holding of role {role.name} ends on {_when(ends_at)}{after}.",
                         _Links.role(role))

    # Schedules

    def _check_schedule(self, schedule, slots, vacancies):
        self.report.checked += 1
        subject = f"Schedule {schedule.name}"
        link = _Links.schedule(schedule)
        now_on = [entry.person for entry in self.on_call.get(schedule.pk, []) if entry.person is not None]
        if not now_on:
            self.add(ERROR, subject, "Nobody is on call now.", link)
        for problem in vacancies:
            self.add(WARNING, subject, f"Vacancy in {problem}.", link)
        # Each person once per schedule, with why they matter here.
        why = {}
        for person in now_on:
            why.setdefault(person.pk, "on call now")
        roles_seen = set()
        for _, layer, person_id, role_id in slots:
            self.report.checked += 1
            if person_id and self.directory.active(person_id):
                why.setdefault(person_id, f"in layer {layer}")
            elif role_id and role_id not in roles_seen:
                roles_seen.add(role_id)
                role = self.directory.roles[role_id]
                holders = self.directory.holders(role_id)
                for holder_id, _ in holders:
                    why.setdefault(holder_id, f"holds role {role.name} in layer {layer}")
                if holders:  # a role without a holder is reported as a vacancy already
                    self._check_role(f"{subject} · layer {layer} · role {role.name}", role, reach=False)
        for person_id, note in why.items():
            if person_id in self.directory.people:
                # Who is on call now has delegations applied already (oncall.loading).
                self._check_reach(subject, person_id, note, follow=False)

    # The installation, services and links

    def _check_installation_fallback(self, person_ids):
        self.report.checked += 1
        subject = "Installation fallback (administrators)"
        if not person_ids:
            self.add(ERROR, subject, "No active administrator has a directory person, so a policy whose fallback "
                     "reaches nobody, and a service without a policy, page nobody.", _Links.admins())
            return
        problems = {pid: self.directory.reach_problem(pid) for pid in person_ids}
        someone = any(problem is None for problem in problems.values())
        for pid, problem in problems.items():
            if problem:
                # While one administrator is reachable the fallback still pages someone.
                level, message = problem
                self.add(WARNING if someone else level, subject, f"{message}.", _Links.person(pid))

    def _check_links(self, policies):
        linked = set(ServicePolicy.objects.values_list("policy_id", flat=True))
        for policy in policies:
            if policy.pk not in linked:
                self.add(INFO, policy.name, "No service is linked to this policy; it never pages.",
                         _Links.policy(policy.pk))
        for pk, name in Service.objects.filter(escalation_link__isnull=True).order_by("name").values_list("pk", "name"):
            self.report.checked += 1
            self.add(WARNING, f"Service {name}", "The service has no escalation policy: its incidents page only "
                     "the installation's final fallback.", _Links.service(pk))


def run(now):
    """The audit's Report at `now`; reads only."""
    return _Audit(now).run()


def store(report, *, actor, ran_by):
    """Keep a run for the evidence package, with its counts in the audit log."""
    with transaction.atomic():
        row = TargetAudit.objects.create(ran_at=report.ran_at, ran_by=ran_by[:150], checked=report.checked,
                                         findings=[f.as_dict() for f in report.findings])
        audit.record(actor, "escalation.target_audit", row, summary={"checked": report.checked, **report.counts})
    return row
