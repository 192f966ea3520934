"""Regions and sites as directory use cases: checked fields, names that stay unique, audited changes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services
from tocsin.directory.models import Region, Site

SYSTEM = audit.Actor.system("test")


@pytest.fixture
def emea(db):
    return services.create_region(actor=SYSTEM, name=" EMEA ", description="Europe")


def test_a_site_is_created_with_clean_values_and_audited(emea):
    site = services.create_site(actor=SYSTEM, name="Berlin HQ", region=emea, kind="office", latitude="52.520008",
                                longitude=13.405, time_zone="Europe/Berlin", address=" Alexanderplatz 1 ")
    site.refresh_from_db()
    assert (site.slug, site.latitude, site.longitude, site.address) == (
        "berlin-hq", Decimal("52.52001"), Decimal("13.40500"), "Alexanderplatz 1")
    assert (emea.name, emea.slug) == ("EMEA", "emea")
    entry = AuditEntry.objects.get(action="directory.site.create")
    assert entry.object_id == str(site.pk) and entry.summary["time_zone"] == "Europe/Berlin"
    assert AuditEntry.objects.filter(action="directory.region.create").count() == 1


@pytest.mark.parametrize("fields, field, message", [
    ({"time_zone": "Mars/Base"}, "time_zone", "Unknown time zone 'Mars/Base'."),
    ({"time_zone": "posixrules"}, "time_zone", "Unknown time zone 'posixrules'."),  # a file, not an IANA zone
    ({"latitude": 91}, "latitude", "The latitude must lie between -90 and 90."),
    ({"longitude": "NaN"}, "longitude", "The longitude must lie between -180 and 180."),
    ({"longitude": "east"}, "longitude", "The longitude must be a number."),
    ({"kind": "moon"}, "kind", "Unknown site kind 'moon'; use office, data-centre or cloud-region."),
    ({"name": "  "}, "name", "A site name of 1 to 120 characters is required."),
    ({"name": "!!!"}, "name", "A site name needs at least one letter or digit."),
    ({"address": "x" * 1001}, "address", "Keep the address under 1,000 characters."),
    ({"floor": 3}, "floor", "Unknown field."),
])
def test_bad_site_values_are_refused_naming_the_field(db, fields, field, message):
    with pytest.raises(ValidationError) as refused:
        services.create_site(actor=SYSTEM, **{"name": "Base", **fields})
    assert refused.value.message_dict == {field: [message]}
    assert not Site.objects.exists() and not AuditEntry.objects.exists()


def test_names_stay_unique_ignoring_case_and_punctuation(emea):
    site = services.create_site(actor=SYSTEM, name="Berlin HQ")
    with pytest.raises(ValidationError, match="A site named 'berlin hq' exists already"):
        services.create_site(actor=SYSTEM, name="berlin hq")
    with pytest.raises(ValidationError, match="A site named 'Berlin-HQ' exists already"):
        services.create_site(actor=SYSTEM, name="Berlin-HQ")
    services.update_site(site, actor=SYSTEM, name="Berlin HQ")  # keeping its own name is fine
    with pytest.raises(ValidationError, match="A region named 'emea' exists already"):
        services.create_region(actor=SYSTEM, name="emea")


def test_updates_record_only_what_changed_and_refuse_bad_values_whole(emea):
    site = services.create_site(actor=SYSTEM, name="Austin DC", kind="data-centre")
    services.update_site(site, actor=SYSTEM, region=emea, time_zone="America/Chicago")
    entry = AuditEntry.objects.get(action="directory.site.update")
    assert entry.summary == {"region": {"from": None, "to": emea.pk},
                             "time_zone": {"from": "UTC", "to": "America/Chicago"}}
    with pytest.raises(ValidationError):
        services.update_site(site, actor=SYSTEM, name="Austin", time_zone="Nowhere/Else")
    site.refresh_from_db()
    assert (site.name, site.time_zone) == ("Austin DC", "America/Chicago")
    services.update_site(site, actor=SYSTEM, kind="data-centre")
    assert AuditEntry.objects.filter(action="directory.site.update").count() == 1  # nothing changed, nothing recorded
    services.update_region(emea, actor=SYSTEM, description="Europe, Middle East and Africa")
    assert Region.objects.get(pk=emea.pk).description == "Europe, Middle East and Africa"
    with pytest.raises(ValidationError, match="description"):
        services.update_region(emea, actor=SYSTEM, description="x" * 2001)
