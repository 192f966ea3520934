"""directory 0005: the region names sites carried become Region rows, and back again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("directory", "0004_seal_idp_identifiers")]
AFTER = [("directory", "0005_regions_and_site_locations")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_region_strings_become_regions():
    try:
        old = _migrate(BEFORE)
        OldSite = old.get_model("directory", "Site")
        OldSite.objects.create(name="Berlin HQ", slug="berlin-hq", region="EMEA")
        OldSite.objects.create(name="Munich", slug="munich", region="EMEA")
        OldSite.objects.create(name="Austin DC", slug="austin-dc", region="AMER")
        OldSite.objects.create(name="Lab", slug="lab", region="")
        new = _migrate(AFTER)
        Site = new.get_model("directory", "Site")
        Region = new.get_model("directory", "Region")
        assert sorted(Region.objects.values_list("name", "slug")) == [("AMER", "amer"), ("EMEA", "emea")]
        regions = dict(Site.objects.values_list("slug", "region__name"))
        assert regions == {"berlin-hq": "EMEA", "munich": "EMEA", "austin-dc": "AMER", "lab": None}
        assert set(Site.objects.values_list("kind", flat=True)) == {"office"}
        back = _migrate(BEFORE)
        assert dict(back.get_model("directory", "Site").objects.values_list("slug", "region")) == {
            "berlin-hq": "EMEA", "munich": "EMEA", "austin-dc": "AMER", "lab": "",
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
