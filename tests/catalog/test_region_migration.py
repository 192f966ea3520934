"""directory 0005: the region names sites carried become Region rows, and back again."""

import pytest

from tests.support.migrations import migrate_to, migrate_to_latest

BEFORE = [("directory", "0004_seal_idp_identifiers")]
AFTER = [("directory", "0005_regions_and_site_locations")]


@pytest.mark.django_db(transaction=True)
def test_region_strings_become_regions():
    try:
        old = migrate_to(BEFORE)
        OldSite = old.get_model("directory", "Site")
        OldSite.objects.create(name="Berlin HQ", slug="berlin-hq", region="EMEA")
        OldSite.objects.create(name="Munich", slug="munich", region="EMEA")
        OldSite.objects.create(name="Austin DC", slug="austin-dc", region="AMER")
        OldSite.objects.create(name="Lab", slug="lab", region="")
        new = migrate_to(AFTER)
        Site = new.get_model("directory", "Site")
        Region = new.get_model("directory", "Region")
        assert sorted(Region.objects.values_list("name", "slug")) == [("AMER", "amer"), ("EMEA", "emea")]
        regions = dict(Site.objects.values_list("slug", "region__name"))
        assert regions == {"berlin-hq": "EMEA", "munich": "EMEA", "austin-dc": "AMER", "lab": None}
        assert set(Site.objects.values_list("kind", flat=True)) == {"office"}
        back = migrate_to(BEFORE)
        assert dict(back.get_model("directory", "Site").objects.values_list("slug", "region")) == {
            "berlin-hq": "EMEA", "munich": "EMEA", "austin-dc": "AMER", "lab": "",
        }
    finally:
        migrate_to_latest()
