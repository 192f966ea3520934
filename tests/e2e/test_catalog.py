"""The catalogue in a real browser: a responder adds a service, has an RTO beyond the MTPD refused,
fixes it, adds a dependency and reads the recovery order."""

import re

from playwright.sync_api import expect

from tocsin.catalog import services
from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.models import Team

PASSWORD = "correct-horse-battery-9"
SYSTEM = audit.Actor.system("test")


def sign_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_responder_builds_a_service_and_reads_the_recovery_order(page, live_server, make_user, make_team):
    platform = make_team("Platform")
    database = services.create_service(actor=SYSTEM, source="cli", name="postgres-main", owner_team=platform, tier=1)
    services.set_bia(database, actor=SYSTEM, source="cli", rto="30m", mtpd="4h")
    make_user("chen", password=PASSWORD, roles=["responder"], teams=["platform"])

    sign_in(page, "chen")
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="Add a service").click()
    page.get_by_label("Name").fill("payments")
    page.get_by_label("Owner team").select_option(label="Platform")
    page.get_by_label("Criticality").select_option(label="Tier 1 (most critical)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("payments")
    payments = Service.objects.get(name="payments")

    page.get_by_label("RTO").fill("8h")
    page.get_by_label("MTPD").fill("4h")
    page.get_by_role("button", name="Save impact analysis").click()
    expect(page.locator("#bia .errorlist")).to_contain_text("The RTO (8h) exceeds the MTPD (4h)")
    payments.refresh_from_db()
    assert payments.rto_minutes is None

    page.get_by_label("RTO").fill("1h")
    page.get_by_role("button", name="Save impact analysis").click()
    expect(page.get_by_role("status")).to_have_text("The impact analysis is saved.")
    expect(page.get_by_label("RTO")).to_have_value("1h")

    page.get_by_label("Depends on").select_option(label="postgres-main")
    page.get_by_role("button", name="Add dependency").click()
    expect(page.get_by_role("status")).to_have_text("payments now depends on postgres-main.")
    expect(page.get_by_test_id("depends-on")).to_contain_text("postgres-main")

    page.get_by_role("link", name="Recovery order").click()
    page.get_by_label("payments").check()
    page.get_by_label("postgres-main").check()
    page.get_by_role("button", name="Show recovery order").click()
    rows = page.get_by_test_id("recovery-order").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(re.compile(r"1\s*postgres-main\s*30m"))
    expect(rows.nth(1)).to_contain_text("payments")
    expect(rows.nth(1)).to_contain_text("postgres-main")
    expect(page.locator(".recovery-picture svg .recovery-node")).to_have_count(2)
    assert Team.objects.count() == 1
