"""The demo organisation's on-call: eight schedules in four time zones on the directory demo's
teams, with overrides, one pending swap and one schedule whose rotation runs out (a gap)."""

from datetime import time, timedelta

from django.utils import timezone

from tocsin.core.models import Team
from tocsin.directory.models import OrgRole, Person

from . import selectors, services
from .models import Schedule, ShiftSwap

SOURCE = "demo"
FIRST = "network-primary"


def load(actor):
    """Create the on-call part of the demo once (later runs leave it as it is); return a summary."""
    if not Schedule.objects.filter(slug=FIRST).exists() and Team.objects.filter(slug="network").exists():
        _create(actor)
    schedules = Schedule.objects.count()
    pending = ShiftSwap.objects.filter(status=ShiftSwap.PENDING).count()
    gaps = len(selectors.gaps_ahead())
    return (f"On call: {schedules} schedule{'s' * (schedules != 1)}, {pending} pending swap{'s' * (pending != 1)}, "
            f"{gaps} schedule{'s' * (gaps != 1)} with a gap")


def _team_people(slug):
    return list(Person.objects.filter(teams__slug=slug, is_active=True, is_vendor=False).order_by("pk"))


def _create(actor):
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 28)  # weekly rotations hand off on Mondays
    teams = {t.slug: t for t in Team.objects.all()}
    people = {slug: _team_people(slug) for slug in teams}

    def schedule(name, team, zone, description):
        return services.create_schedule(actor=actor, source=SOURCE, name=name, team=teams[team], time_zone=zone,
                                        description=description)

    def layer(sched, name, participants, **fields):
        fields.setdefault("start_date", monday)
        return services.add_layer(sched, actor=actor, source=SOURCE, name=name, participants=participants, **fields)

    network = people["network"]
    primary = schedule("Network primary", "network", "Europe/Berlin", "First responder for WAN, firewall and DNS alerts")
    layer(primary, "Weekly primary", network[:4], rotation="weekly", handoff_time=time(9))
    secondary = schedule("Network secondary", "network", "Europe/Berlin", "Backs up the primary after 15 minutes")
    on_call_role = OrgRole.objects.get(slug="network-on-call")
    layer(secondary, "Daily secondary", [on_call_role, *network[4:7]], rotation="daily", handoff_time=time(9))

    platform = people["platform"]
    sun = schedule("Platform follow-the-sun", "platform", "UTC", "Berlin covers the European day, Singapore the night")
    layer(sun, "EMEA day", platform[:3], rotation="weekly", handoff_time=time(6),
          restrictions=[{"days": list(range(7)), "start": "06:00", "end": "18:00"}])
    layer(sun, "APAC night", platform[3:6], rotation="weekly", handoff_time=time(18),
          restrictions=[{"days": list(range(7)), "start": "18:00", "end": "06:00"}])
    database = schedule("Database", "platform", "America/Chicago", "PostgreSQL and storage, run from Austin")
    layer(database, "Weekly DBA", platform[6:9] or platform[:3], rotation="weekly", handoff_time=time(10))

    desk = people["service-desk"]
    service_desk = schedule("Service desk", "service-desk", "America/Chicago", "Two technicians on every shift")
    layer(service_desk, "Pairs", desk[:5], rotation="custom", length=12, unit="hours", handoff_time=time(7),
          shift_size=2)
    singapore = schedule("Singapore operations", "service-desk", "Asia/Singapore", "Local hands for the APAC office")
    layer(singapore, "Daily", desk[5:9] or desk[:3], rotation="daily", handoff_time=time(8))

    security = schedule("Security incident response", "security", "Europe/Berlin", "CSIRT duty officer")
    layer(security, "Weekly duty officer", people["security"][:4], rotation="weekly", handoff_time=time(10))

    applications = schedule("Applications", "applications", "Europe/Berlin",
                            "The rotation ends next week and nobody has extended it yet")
    layer(applications, "Weekly", people["applications"][:4], rotation="weekly", handoff_time=time(9),
          end_date=today + timedelta(days=9))

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    services.add_override(primary, actor=actor, source=SOURCE, person=network[3], replaces=None,
                          starts_at=now + timedelta(days=2, hours=2), ends_at=now + timedelta(days=2, hours=8),
                          reason="Covers the core-router maintenance window")
    services.add_override(service_desk, actor=actor, source=SOURCE, person=desk[5 % len(desk)],
                          starts_at=now + timedelta(days=4), ends_at=now + timedelta(days=4, hours=12),
                          reason="Training day for the regular team")
    _pending_swap(actor, primary, network[0], network[1])


def _pending_swap(actor, schedule, first, second):
    """`first` or `second`, whichever is on call next, asks the other to take that shift."""
    start = timezone.now() + timedelta(days=1)
    found, _ = selectors.shifts(schedule, start, start + timedelta(days=35))
    for shift in found:
        if shift.start > start and shift.person_id in (first.pk, second.pk) and shift.assignment.source == "layer":
            requester, counterpart = (first, second) if shift.person_id == first.pk else (second, first)
            services.request_swap(schedule, actor=actor, source=SOURCE, requester=requester, counterpart=counterpart,
                                  starts_at=shift.start, ends_at=shift.end, note="Family wedding that weekend")
            return
