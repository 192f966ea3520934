"""Who a suspected breach may have touched, read from the audit log of reveals and exports
inside the breach's window (optionally narrowed to one actor)."""

from dataclasses import dataclass, field

from django.db.models import Q

from tocsin.core.models import AuditEntry

from .models import Person

REVEALS = ("contact.revealed", "contact.history_revealed", "contacts.scim_read")
EXPORTS = ("contacts.exported", "contacts.csv_exported")


@dataclass
class BreachScope:
    people: list = field(default_factory=list)
    reveals: int = 0
    exports: list = field(default_factory=list)  # audit entries of bulk exports in the window


def affected(breach):
    entries = AuditEntry.objects.filter(
        at__gte=breach.window_start, at__lt=breach.window_end, action__in=REVEALS + EXPORTS
    ).order_by("seq")
    if breach.suspect_actor:
        label = breach.suspect_actor
        entries = entries.filter(Q(actor_label=label) | Q(actor_label__startswith=f"{label}/"))
    person_ids, reveals, exports = set(), 0, []
    for entry in entries:
        if entry.action in EXPORTS:
            exports.append(entry)
            continue
        reveals += 1
        if entry.object_type == "directory.person":
            person_ids.add(int(entry.object_id))
        person_ids.update(int(p) for p in entry.summary.get("people", []))
        if entry.summary.get("person"):
            person_ids.add(int(entry.summary["person"]))
    people = list(Person.objects.filter(pk__in=person_ids).order_by("name", "pk"))
    return BreachScope(people, reveals, exports)
