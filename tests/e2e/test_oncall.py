"""On-call schedules in a real browser: a schedule and a weekly rotation built from the forms,
an override taken from a shift of the final row, and a swap offered by one engineer and
accepted by the other, each visible in the final row."""

import re
from datetime import time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tocsin.core import audit
from tocsin.directory import services as directory
from tocsin.oncall import services
from tocsin.oncall.models import Override, ShiftSwap

from .test_directory import PASSWORD, path_is, sign_in

SYSTEM = audit.Actor.system("test")


def monday():
    today = timezone.now().date()  # the schedules here run in UTC
    return today - timedelta(days=today.weekday())


def network(make_team, make_user):
    """Network, with Ana and Ben (who may read schedules but not change them) and Chen;
    Nora is a responder of Network and so manages its schedules."""
    team = make_team("Network")
    make_user("nora", password=PASSWORD, roles=["responder"], teams=["network"])
    ana_user = make_user("ana", password=PASSWORD, roles=["viewer"], teams=["network"])
    ben_user = make_user("ben", password=PASSWORD, roles=["viewer"], teams=["network"])
    ana = directory.create_person(actor=SYSTEM, source="cli", name="Ana Network", teams=[team], user=ana_user)
    ben = directory.create_person(actor=SYSTEM, source="cli", name="Ben Network", teams=[team], user=ben_user)
    directory.create_person(actor=SYSTEM, source="cli", name="Chen Cover", teams=[team])
    return team, ana, ben


def build_schedule(page, live_server):
    """As Nora: a schedule in UTC and a weekly rotation of Ana then Ben."""
    sign_in(page, "nora")
    expect(page).to_have_url(path_is(live_server, "/"))
    page.get_by_role("link", name="On call", exact=True).click()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name").fill("Network primary")
    page.get_by_label("Team").select_option(label="Network")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_text("Unknown time zone 'Mars/Olympus'.")).to_be_visible()
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_role("button", name="Create schedule").click()
    expect(page).to_have_url(path_is(live_server, "/oncall/network-primary/"))
    expect(page.get_by_role("heading", name="Network primary", exact=True)).to_be_visible()

    page.get_by_role("link", name="Add a layer").click()
    page.get_by_label("Name").fill("Primary")
    page.get_by_label("Rotation").select_option("weekly")
    page.get_by_label("Handoff time").fill("09:00")
    page.get_by_label("Start date").fill(monday().isoformat())
    page.get_by_label("Participants").fill("Ana Network\nBen Nobody")
    page.get_by_role("button", name="Add layer").click()
    expect(page.get_by_text("Unknown people or roles: 'Ben Nobody'.")).to_be_visible()
    page.get_by_label("Participants").fill("Ana Network\nBen Network")
    page.get_by_role("button", name="Add layer").click()
    expect(page).to_have_url(path_is(live_server, "/oncall/network-primary/"))
    expect(page.get_by_role("status")).to_have_text("Layer Primary is added.")


def final_cell(page, day_index):
    return page.get_by_test_id("row-final").locator("td").nth(day_index)


def test_schedule_rotation_and_override_from_the_final_row(page, live_server, make_team, make_user):
    network(make_team, make_user)
    build_schedule(page, live_server)
    layer_row = page.get_by_test_id("row-layer")
    expect(layer_row.locator("td").nth(1)).to_contain_text("Ana Network")
    expect(page.get_by_test_id("row-final").locator("td").nth(6)).to_contain_text("Ana Network")
    expect(page.get_by_role("link", name="Next →")).to_be_visible()

    # Tuesday's piece of Ana's week: override the whole shift with Chen.
    tuesday = final_cell(page, 1)
    tuesday.get_by_role("link", name="Override this shift").click()
    expect(page.get_by_label("In place of")).to_have_value("Ana Network")
    expect(page.get_by_label("Start")).to_have_value(f"{monday().isoformat()}T09:00")
    page.get_by_label("Person").fill("Chen Cover")
    page.get_by_label("Reason").fill("Ana at a conference")
    page.get_by_role("button", name="Add override").click()

    expect(page).to_have_url(re.compile(r"/oncall/network-primary/\?start="))
    expect(final_cell(page, 1)).to_contain_text("Chen Cover")
    expect(final_cell(page, 1)).to_contain_text("override")
    expect(final_cell(page, 1)).not_to_contain_text("Ana Network")
    expect(page.get_by_test_id("row-overrides")).to_contain_text("for Ana Network")
    expect(page.get_by_test_id("row-layer").locator("td").nth(1)).to_contain_text("Ana Network")
    assert Override.objects.get().person.name == "Chen Cover"


def test_swap_offered_by_ana_and_accepted_by_ben(browser, page, live_server, make_team, make_user):
    team, ana, ben = network(make_team, make_user)
    schedule = services.create_schedule(actor=SYSTEM, name="Network primary", time_zone="UTC", team=team)
    services.add_layer(schedule, actor=SYSTEM, name="Primary", participants=[ana, ben], rotation="weekly",
                       handoff_time=time(9), start_date=monday())
    sign_in(page, "ana")
    expect(page).to_have_url(path_is(live_server, "/"))
    page.get_by_role("link", name="On call", exact=True).click()
    page.get_by_role("link", name="Network primary").first.click()
    expect(page.get_by_role("link", name="Override this shift")).to_have_count(0)
    expect(page.get_by_role("link", name="Offer a swap")).to_have_count(7)  # only Ana's own shift
    final_cell(page, 2).get_by_role("link", name="Offer a swap").click()
    expect(page.get_by_label("Whose shift")).to_have_value("Ana Network")
    page.get_by_label("Hand it to").fill("Ben Network")
    page.get_by_label("Note").fill("Family visit")
    page.get_by_role("button", name="Offer the swap").click()
    expect(page).to_have_url(path_is(live_server, "/oncall/swaps/"))
    swap = ShiftSwap.objects.get()
    row = page.get_by_test_id(f"swap-{swap.pk}")
    expect(row).to_contain_text("Ben Network")
    expect(row.get_by_role("button", name="Accept")).to_have_count(0)
    expect(row.get_by_role("button", name="Cancel")).to_be_visible()

    ben = browser.new_context(base_url=live_server.url)
    ben.set_default_timeout(10_000)
    ben_page = ben.new_page()
    try:
        sign_in(ben_page, "ben")
        expect(ben_page).to_have_url(path_is(live_server, "/"))
        ben_page.goto("/oncall/swaps/")
        ben_page.get_by_test_id(f"swap-{swap.pk}").get_by_role("button", name="Accept").click()
        expect(ben_page).to_have_url(re.compile(r"/oncall/network-primary/\?start="))
        expect(ben_page.get_by_role("status")).to_contain_text("Ben Network takes the shift from Ana Network")
        for day in range(7):
            expect(final_cell(ben_page, day)).to_contain_text("Ben Network")
            expect(final_cell(ben_page, day)).not_to_contain_text("Ana Network")
        expect(final_cell(ben_page, 2)).to_contain_text("swap")
        expect(ben_page.get_by_test_id("history")).to_contain_text("Swap: Ana Network → Ben Network")
        expect(ben_page.get_by_test_id("history")).to_contain_text("accepted by ben")
    finally:
        ben.close()
    swap.refresh_from_db()
    assert swap.status == ShiftSwap.ACCEPTED
