"""The demo organisation's directory: three sites, six teams, the roles of the emergency-contact
letter, about sixty people with their methods, vendors, a few overdue validations and one gap."""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

import phonenumbers
from django.utils import timezone

from tocsin.core import services as core_services
from tocsin.core.models import Team, User

from . import services
from .models import ContactPolicy, Person, Region, Site, Stewardship

SITES = [
    ("Berlin HQ", "berlin-hq", "EMEA", "Europe/Berlin", "DE", "+49 30 {:07d}"),
    ("Austin Data Centre", "austin-dc", "AMER", "America/Chicago", "US", "+1 512 {:07d}"),
    ("Singapore Office", "singapore", "APAC", "Asia/Singapore", "SG", "+65 6{:07d}"),
]
# slug: kind, address, latitude, longitude
SITE_LOCATIONS = {
    "berlin-hq": (Site.OFFICE, "Alexanderplatz 1, 10178 Berlin", "52.52192", "13.41321"),
    "austin-dc": (Site.DATA_CENTRE, "7000 Metropolis Dr, Austin, TX 78744", "30.20912", "-97.73551"),
    "singapore": (Site.OFFICE, "1 Raffles Place, Singapore 048616", "1.28430", "103.85120"),
}
TEAMS = [
    ("Network", "Routers, firewalls, WAN links and DNS"),
    ("Platform", "Kubernetes, databases and storage"),
    ("Service Desk", "First line: the 24/7 help desk"),
    ("Security", "Security operations and incident handling"),
    ("Applications", "Business applications and integrations"),
    ("Leadership", "IT management and executives"),
]
# name, team slug, sheet level, hours, response commitment, critical
ROLES = [
    ("IT Help Desk", "service-desk", 1, "24/7", "15 min", True),
    ("IT Manager", "leadership", 2, "Mon-Fri 08-18, on call otherwise", "1 h", True),
    ("Chief Technology Officer", "leadership", 3, "24/7 for critical incidents", "2 h", True),
    ("Chief Information Officer", "leadership", None, "Business hours", "4 h", False),
    ("Information Security Officer", "security", None, "24/7", "30 min", True),
    ("Network Administrator", "network", None, "Mon-Fri 07-19", "30 min", True),
    ("Systems Analyst", "applications", None, "Mon-Fri 08-17", "1 h", False),
    ("Help Desk Technician", "service-desk", None, "Shifts, 24/7", "15 min", False),
    ("Network on-call", "network", None, "24/7", "15 min", True),
    ("Database on-call", "platform", None, "24/7", "15 min", True),  # left vacant: the demo's coverage gap
]
FIRST = ["Ana", "Ben", "Chen", "Dora", "Emil", "Farah", "Gustav", "Hiro", "Ines", "Jonas", "Kemal", "Lena",
         "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wei", "Ximena",
         "Yusuf", "Zofia", "Łukasz", "Søren", "Aiko", "Björn"]
LAST = ["Silva", "Okafor", "Wei", "Novák", "Larsen", "Haddad", "Berg", "Tanaka", "García", "Müller", "Yılmaz",
        "Schmidt", "Rossi", "Petrova", "Nilsson", "Sharma", "Dubois", "Fernández", "Johansson", "Kowalski"]
TAGS = ["bgp", "dns", "firewall", "kubernetes", "postgres", "storage", "windows", "linux", "siem", "sap", "vpn"]
USERS_TO_PEOPLE = {
    "admin": "leadership", "ana.silva": "network", "ben.okafor": "network", "chen.wei": "platform",
    "dora.novak": "service-desk", "emil.larsen": "leadership", "farah.haddad": "security",
    "gustav.berg": "leadership", "hiro.tanaka": "platform",
}


def _number(pattern, region, rng):
    while True:
        candidate = pattern.format(rng.randrange(2_000_000, 9_999_999))
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
            return candidate


def load(actor):
    """Create the directory part of the demo once (later runs leave it as it is); return a summary."""
    if not Site.objects.filter(slug="berlin-hq").exists():
        _create(actor)
    from .compliance import coverage_gaps, overdue_validations

    return (
        f"Directory: {Person.objects.count()} people at {Site.objects.count()} sites, "
        f"{len(overdue_validations())} overdue validations, {len(coverage_gaps())} coverage gap(s)."
    )


def _create(actor):
    rng = random.Random(7)
    now = timezone.now()
    sites = [_site(name, slug, region, zone) for name, slug, region, zone, _, _ in SITES]
    teams = {}
    for name, description in TEAMS:
        team = Team.objects.filter(name=name).first() or core_services.create_team(actor=actor, name=name, description=description)
        teams[team.slug] = team
    roles = {}
    for name, team, level, hours, commitment, critical in ROLES:
        roles[name] = services.create_role(
            actor=actor, name=name, team=teams[team], sheet_level=level, hours=hours,
            response_commitment=commitment, critical=critical,
        )
    hotline = services.add_method(actor=actor, source="demo", role=roles["IT Help Desk"], kind="voice",
                                  value="+49 30 12345670", label="24/7 hotline")
    services.mark_verified(hotline, actor=actor, source="demo", how="demo")
    services.add_method(actor=actor, source="demo", role=roles["IT Help Desk"], kind="email",
                        value="helpdesk@example.org", label="Shared mailbox")

    people = []
    for user in User.objects.filter(username__in=USERS_TO_PEOPLE):
        people.append(_person(actor, rng, sites, teams, user.get_full_name() or user.username,
                              USERS_TO_PEOPLE[user.username], user=user))
    team_slugs = list(teams)
    while len(people) < 58:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if any(p.name == name for p in people):
            continue
        people.append(_person(actor, rng, sites, teams, name, team_slugs[len(people) % len(team_slugs)]))
    for vendor, organisation, sla in [("Acme Fiber NOC", "Acme Fiber (WAN carrier)", "1 h response, 24/7"),
                                      ("StoreCo Support", "StoreCo (SAN vendor)", "4 h on-site, business days")]:
        person = services.create_person(actor=actor, source="demo", name=vendor, organisation=organisation,
                                        is_vendor=True, support_sla=sla, site=sites[1], time_zone=SITES[1][3],
                                        teams=[teams["platform"]])
        services.add_method(actor=actor, source="demo", person=person, kind="voice",
                            value=_number(SITES[1][5], "US", rng), label="Support line")
        people.append(person)

    by_team = {slug: [p for p in people if teams[slug] in p.teams.all()] for slug in teams}
    holders = {
        "IT Help Desk": by_team["service-desk"][0], "IT Manager": by_team["leadership"][1],
        "Chief Technology Officer": by_team["leadership"][0], "Chief Information Officer": by_team["leadership"][2],
        "Information Security Officer": by_team["security"][0], "Network Administrator": by_team["network"][0],
        "Systems Analyst": by_team["applications"][0], "Help Desk Technician": by_team["service-desk"][1],
        "Network on-call": by_team["network"][1],
    }
    for role, person in holders.items():
        services.assign_holder(roles[role], person, actor=actor, source="demo", starts_at=now - timedelta(days=200))
    # The IT Manager is on leave next week; the CTO's deputy stands in.
    manager = holders["IT Manager"]
    services.delegate(manager, by_team["leadership"][3], actor=actor, source="demo",
                      starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=14), reason="Annual leave")

    steward = User.objects.filter(username="dora.novak").first()
    for team in teams.values():
        Stewardship.objects.get_or_create(team=team, defaults={"steward": steward, "validation_interval_days": 90})
    Person.objects.filter(pk__in=[p.pk for p in people]).update(last_validated_at=now - timedelta(days=20))
    overdue = [p.pk for p in people[10:14]]
    Person.objects.filter(pk__in=overdue).update(last_validated_at=now - timedelta(days=130))
    policy = ContactPolicy.get()
    policy.grant_self_approve_roles = ["responder"]
    policy.save()


def _site(name, slug, region_name, zone):
    region, _ = Region.objects.get_or_create(slug=region_name.lower(), defaults={"name": region_name})
    kind, address, latitude, longitude = SITE_LOCATIONS[slug]
    return Site.objects.create(
        name=name, slug=slug, region=region, time_zone=zone, kind=kind, address=address,
        latitude=Decimal(latitude), longitude=Decimal(longitude),
    )


def _person(actor, rng, sites, teams, name, team_slug, user=None):
    site_index = rng.randrange(len(sites))
    site = sites[site_index]
    _, _, _, zone, region, pattern = SITES[site_index]
    person = services.create_person(
        actor=actor, source="demo", name=name, time_zone=zone, site=site, teams=[teams[team_slug]],
        tags=rng.sample(TAGS, 2), user=user,
    )
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    handle = ascii_name.lower().replace(" ", ".") or "person"
    mobile = services.add_method(actor=actor, source="demo", person=person, kind="sms",
                                 value=_number(pattern, region, rng), label="Mobile", order=0)
    services.add_method(actor=actor, source="demo", person=person, kind="email",
                        value=f"{handle}{person.pk}@example.org", label="Work", order=1)
    if rng.random() < 0.6:
        services.add_method(actor=actor, source="demo", person=person, kind="voice",
                            value=_number(pattern, region, rng), label="Desk", order=2, availability="Mon-Fri 08:00-18:00 " + zone)
    if rng.random() < 0.8:
        services.mark_verified(mobile, actor=actor, source="demo", how="demo")
    return person
