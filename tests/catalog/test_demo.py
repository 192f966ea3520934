"""The demo catalogue: realistic, idempotent, with the cases a continuity manager must act on."""

from django.core.management import call_command

from tocsin.catalog.checks import catalog_warnings
from tocsin.catalog.models import Dependency, LegacyException, Service
from tocsin.catalog.recovery import recovery_order
from tocsin.directory.models import Region, Site


def test_demo_catalogue_loads_twice(db, capsys):
    call_command("demo", "--password", "demo-password-123")
    call_command("demo", "--password", "demo-password-123")
    out = capsys.readouterr().out
    assert out.count("Catalogue: 25 services (4 business), 40 dependencies, 2 legacy exceptions "
                     "(1 overdue for review), 1 impact analysis warning(s).") == 2
    assert Service.objects.count() == 25 and Dependency.objects.count() == 40
    assert [w.code for w in catalog_warnings()] == ["tier-below-business"]
    assert LegacyException.objects.filter(status="approved").count() == 2
    assert sorted(Region.objects.values_list("name", flat=True)) == ["AMER", "APAC", "EMEA"]
    assert Site.objects.get(slug="austin-dc").kind == "data-centre"
    assert Service.objects.filter(owner__isnull=False).count() == 25
    shop = recovery_order(Service.objects.filter(name__in=["Online Shop", "checkout-api", "payments", "catalogue-api",
                                                             "postgres-main"]))
    assert [s.service.name for s in shop] == ["postgres-main", "catalogue-api", "payments", "checkout-api", "Online Shop"]
