"""What escalation steps write, gathered and then written in bulk: a batch of steps costs one
statement per table, not one per step. Within a batch, targets are resolved once per instant."""

from tocsin.core.bulk import update_each
from tocsin.directory.models import Person
from tocsin.engine import queue
from tocsin.incidents.services import add_paged, assign_unowned, engine_entry, flag_unpaged, record_entries

from . import signals, spec as specs, targets
from .models import Escalation, NotificationRequest

STEP = "escalation.step"
ESCALATION_FIELDS = ["state", "run", "cycle", "tier", "follow_up", "seq", "tier_started_at", "next_step_at", "targets"]


def step_key(escalation):
    return f"escalation:{escalation.pk}:step"


class Effects:
    def __init__(self, now):
        self.now = now
        self.requests, self.entries, self.paged = [], [], []
        self.assignments, self.unpaged = {}, []
        self.escalations, self.steps = {}, []
        self._specs, self._reached, self._people = {}, {}, {}

    # Reads, cached for the batch (versions never change; targets are read at one instant).
    def spec(self, escalation):
        if not escalation.version_id:
            return None
        if escalation.version_id not in self._specs:
            self._specs[escalation.version_id] = specs.Spec.model_validate(escalation.version.spec)
        return self._specs[escalation.version_id]

    def reach(self, target_list):
        key = tuple((t.type, t.id) for t in target_list)
        if key not in self._reached:
            self._reached[key] = targets.resolve(target_list, self.now)
        return list(self._reached[key])

    def people(self, ids):
        missing = [i for i in ids if i not in self._people]
        if missing:
            self._people.update(Person.objects.in_bulk(missing))
        return [self._people[i] for i in ids if i in self._people and self._people[i].is_active]

    # Writes, kept until `flush`.
    def page(self, incident, people, reason, key, **fields):
        for person in people:
            self.requests.append(NotificationRequest(
                key=f"{reason}:{key}:{person.pk}", incident_id=incident.pk, person_id=person.pk, reason=reason,
                urgency=incident.urgency, created_at=self.now, **fields))
            self.paged.append((incident.pk, person.pk))

    def assign(self, incident, person):
        if incident.assigned_to_id is None and incident.pk not in self.assignments:
            self.assignments[incident.pk] = person.pk
            incident.assigned_to_id = person.pk

    def record(self, incident, kind, message, *, key, data=None):
        self.entries.append(engine_entry(incident, kind, message, key=key, at=self.now, data=data))

    def flag_unpaged(self, incident):
        self.unpaged.append(incident.pk)
        incident.unpaged = True

    def save(self, escalation):
        self.escalations[escalation.pk] = escalation

    def schedule_step(self, escalation, due):
        """The next step; the caller made sure no step of this escalation is still pending."""
        self.steps.append((STEP, due, {"escalation": escalation.pk, "seq": escalation.seq}, step_key(escalation)))

    def flush(self):
        NotificationRequest.objects.bulk_create(self.requests, ignore_conflicts=True)
        add_paged(self.paged, self.now)
        assign_unowned(self.assignments)
        flag_unpaged(self.unpaged)
        record_entries(self.entries)
        if self.escalations:
            update_each(Escalation, list(self.escalations.values()), ESCALATION_FIELDS)
        if self.steps:
            queue.schedule_many(self.steps)
        if self.requests:
            signals.notifications_requested.send(NotificationRequest, at=self.now)
