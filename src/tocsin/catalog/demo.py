"""The demo organisation's service catalogue: business services on a layered technical estate,
with a diamond of dependencies, impact analyses, two legacy exceptions and one criticality warning."""

from datetime import timedelta

from django.utils import timezone

from tocsin.core.models import Team, User
from tocsin.core.permissions import Principal
from tocsin.directory.models import Person, Site

from . import services
from .checks import catalog_warnings
from .models import Dependency, LegacyException, Service
from .selectors import overdue_reviews

SOURCE = "demo"
# name, kind, owner team, tier, RTO, RPO, MTPD, data sensitivity, sites, description
SERVICES = [
    ("Online Shop", "business", "applications", 1, "2h", "15m", "8h", "regulated-pii", ["berlin-hq", "austin-dc"],
     "Where customers browse, order and pay"),
    ("Customer Support", "business", "service-desk", 2, "4h", "1h", "1d", "regulated-pii", ["berlin-hq", "singapore"],
     "Phone, e-mail and ticket support for customers"),
    ("Payroll", "business", "applications", 2, "1d", "4h", "3d", "regulated-financial", ["berlin-hq"],
     "Monthly salary runs for every employee"),
    ("Internal Communications", "business", "leadership", 3, "8h", "4h", "3d", "internal", ["berlin-hq"],
     "Mail and chat between staff"),
    ("checkout-api", "technical", "applications", 1, "1h", "15m", "4h", "regulated-pii", ["austin-dc"], "Basket and order API"),
    ("payments", "technical", "applications", 1, "1h", "0m", "4h", "regulated-financial", ["austin-dc"],
     "Card and wallet payments through the acquirer"),
    ("catalogue-api", "technical", "applications", 1, "1h", "1h", "4h", "internal", ["austin-dc"], "Products and prices"),
    ("search", "technical", "applications", 1, "2h", "1d", "1d", "public", ["austin-dc"], "Product search index"),
    ("postgres-main", "technical", "platform", 1, "30m", "5m", "4h", "regulated-pii", ["austin-dc"],
     "The primary PostgreSQL cluster"),
    ("redis-cache", "technical", "platform", 1, "30m", "", "4h", "internal", ["austin-dc"], "Session and page cache"),
    ("object-storage", "technical", "platform", 2, "2h", "1h", "1d", "confidential", ["austin-dc"], "S3-compatible storage"),
    ("k8s-cluster", "technical", "platform", 1, "30m", "", "4h", "internal", ["austin-dc"], "The production Kubernetes cluster"),
    ("dns", "technical", "network", 1, "15m", "", "2h", "public", ["berlin-hq", "austin-dc", "singapore"],
     "Authoritative and resolving DNS"),
    ("core-network", "technical", "network", 1, "15m", "", "2h", "internal", ["berlin-hq", "austin-dc", "singapore"],
     "Routers, switches and the WAN"),
    ("firewall", "technical", "network", 1, "15m", "", "2h", "internal", ["berlin-hq", "austin-dc"], "Perimeter firewalls"),
    ("vpn", "technical", "network", 2, "1h", "", "8h", "internal", ["berlin-hq", "singapore"], "Remote access"),
    ("identity-provider", "technical", "security", 1, "30m", "15m", "4h", "regulated-pii", ["berlin-hq"],
     "Single sign-on for staff and services"),
    ("siem", "technical", "security", 3, "1d", "4h", "3d", "confidential", ["berlin-hq"], "Security event monitoring"),
    ("ticketing", "technical", "service-desk", 2, "4h", "1h", "1d", "regulated-pii", ["berlin-hq"], "Help desk tickets"),
    ("telephony", "technical", "service-desk", 2, "2h", "", "1d", "internal", ["berlin-hq", "singapore"],
     "The hotline PBX and call routing"),
    ("email", "technical", "platform", 2, "4h", "1h", "1d", "confidential", ["berlin-hq"], "Staff mail"),
    ("chat", "technical", "platform", 3, "8h", "1d", "3d", "internal", ["berlin-hq"], "Staff chat"),
    # Tier 3 under the tier-2 Payroll: the demo's criticality warning.
    ("sap-hr", "technical", "applications", 3, "1d", "4h", "3d", "regulated-financial", ["berlin-hq"], "HR and payroll ERP"),
    ("backup", "technical", "platform", 2, "8h", "1d", "3d", "confidential", ["austin-dc"], "Nightly backups"),
    ("monitoring", "technical", "platform", 2, "1h", "1h", "8h", "internal", ["austin-dc"], "Metrics and alerting"),
]
# service -> what it depends on; checkout-api → payments / catalogue-api → postgres-main is a diamond.
DEPENDENCIES = {
    "Online Shop": ["checkout-api", "search", "identity-provider"],
    "Customer Support": ["ticketing", "telephony", "email"],
    "Payroll": ["sap-hr"],
    "Internal Communications": ["email", "chat"],
    "checkout-api": ["payments", "catalogue-api", "identity-provider", "redis-cache"],
    "payments": ["postgres-main"],
    "catalogue-api": ["postgres-main"],
    "search": ["k8s-cluster"],
    "postgres-main": ["k8s-cluster"],
    "redis-cache": ["k8s-cluster"],
    "object-storage": ["core-network"],
    "k8s-cluster": ["dns", "core-network"],
    "dns": ["core-network"],
    "firewall": ["core-network"],
    "vpn": ["firewall"],
    "identity-provider": ["postgres-main", "dns"],
    "siem": ["object-storage", "monitoring"],
    "ticketing": ["postgres-main", "identity-provider"],
    "telephony": ["core-network"],
    "email": ["k8s-cluster", "dns"],
    "chat": ["k8s-cluster", "identity-provider"],
    "sap-hr": ["postgres-main", "backup"],
    "backup": ["object-storage"],
    "monitoring": ["k8s-cluster", "dns"],
}
# Impact over 1h, 4h, 24h and 72h for financial, operational, legal-regulatory and reputational.
IMPACTS = {
    "Online Shop": [[2, 3, 4, 4], [2, 3, 4, 4], [0, 1, 2, 3], [1, 2, 3, 4]],
    "Customer Support": [[0, 1, 2, 3], [1, 2, 3, 3], [0, 0, 1, 2], [1, 2, 3, 3]],
    "Payroll": [[0, 0, 1, 3], [0, 0, 1, 2], [0, 0, 2, 4], [0, 0, 1, 3]],
    "Internal Communications": [[0, 0, 1, 1], [0, 1, 2, 2], [0, 0, 0, 1], [0, 0, 1, 1]],
}
CATEGORIES = ["financial", "operational", "legal-regulatory", "reputational"]
HORIZONS = ["1h", "4h", "24h", "72h"]


def load(actor):
    """Create the catalogue part of the demo once (later runs leave it as it is); return a summary."""
    if not Service.objects.filter(name="Online Shop").exists():
        _create(actor)
    today = timezone.localdate()
    return (
        f"Catalogue: {Service.objects.count()} services "
        f"({Service.objects.filter(kind=Service.BUSINESS).count()} business), {Dependency.objects.count()} dependencies, "
        f"{LegacyException.objects.count()} legacy exceptions ({overdue_reviews(today).count()} overdue for review), "
        f"{len(catalog_warnings())} impact analysis warning(s)."
    )


def _create(actor):
    teams = {team.slug: team for team in Team.objects.all()}
    sites = {site.slug: site for site in Site.objects.all()}
    owners = {}
    created = {}
    for name, kind, team, tier, rto, rpo, mtpd, sensitivity, site_slugs, description in SERVICES:
        if team not in owners:
            owners[team] = (
                Person.objects.filter(teams=teams[team], is_active=True, is_vendor=False).order_by("pk").first()
            )
        service = services.create_service(
            actor=actor, source=SOURCE, name=name, kind=kind, owner_team=teams[team], owner=owners[team], tier=tier,
            description=description, sites=[sites[s] for s in site_slugs if s in sites],
        )
        grid = IMPACTS.get(name)
        impact = {c: dict(zip(HORIZONS, row, strict=True)) for c, row in zip(CATEGORIES, grid, strict=True)} if grid else {}
        services.set_bia(service, actor=actor, source=SOURCE, rto=rto, rpo=rpo, mtpd=mtpd,
                         data_sensitivity=sensitivity, impact=impact)
        created[name] = service
    for name, needs in DEPENDENCIES.items():
        for other in needs:
            services.add_dependency(created[name], created[other], actor=actor, source=SOURCE)
    _exceptions(actor, created)


def _exceptions(actor, created):
    users = {user.username: user for user in User.objects.filter(username__in=["admin", "chen.wei", "ana.silva"])}
    today = timezone.localdate()
    sap = services.request_exception(
        created["sap-hr"], actor=actor, source=SOURCE, requested_by=users.get("chen.wei"),
        summary="Vendor answers within 4 h only", ack_minutes="4h", escalate_after_minutes="8h",
        reason="The ERP vendor's support contract has no 24/7 option; replacement is planned for next year.",
        review_on=today + timedelta(days=120),
    )
    pbx = services.request_exception(
        created["telephony"], actor=actor, source=SOURCE, requested_by=users.get("ana.silva"),
        summary="PBX vendor escalates in business hours only", ack_minutes="1h", escalate_after_minutes="12h",
        reason="The legacy PBX is out of vendor support at night until the cloud telephony migration.",
        review_on=today + timedelta(days=30),
    )
    admin = users.get("admin")
    if admin is not None:
        approver = Principal.load(admin)
        for exception in (sap, pbx):
            services.approve_exception(exception, principal=approver, actor=actor, source=SOURCE)
    # The PBX exception's review date has since passed: the demo's overdue review.
    LegacyException.objects.filter(pk=pbx.pk).update(review_on=today - timedelta(days=14))
