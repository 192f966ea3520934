"""The escalation flow in a real browser against `tocsin serve` (the test server cannot stream):
a two-tier policy built in the tier builder and linked to a service, an incident reported by hand,
the dashboard following it live through its event stream as tier 1, then tier 2, is paged, and the
acknowledgement showing there too, all without reloading the dashboard."""

import re

import pytest
from playwright.sync_api import expect

from .served import ADMIN, PASSWORD, ServedInRange, Stack, cleanup, populate, prepare, workdir

ANA, BEN = "Ana Silva", "Ben Okafor"
TEAM, SERVICE = "Payments team", "Payments"
LIVE = {"timeout": 20_000}  # generous: the engine and the stream are real; no assertion is about time


@pytest.fixture
def stack():
    path = workdir()
    env, token = prepare(path)
    try:
        with ServedInRange(env) as server:
            try:
                team, people, service = populate(server.base, token, team=TEAM, people=(ANA, BEN), service=SERVICE)
                yield Stack(server, team, people, service)
            finally:
                # Captured, so shown only when the test fails: what the server and its engine did.
                print(f"--- tocsin serve on port {server.port} logged ---\n{server.tail()}")
    finally:
        cleanup(path)


@pytest.fixture
def context(browser, stack):
    context = browser.new_context(base_url=stack.server.base)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def sign_in(page):
    page.goto("/login/")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Welcome, {ADMIN}")


def build_policy(page, stack):
    """Two tiers in the builder (Ana, then Ben, each with a 30-minute window), then the service linked."""
    ana, ben = stack.people[ANA], stack.people[BEN]
    page.goto("/escalation/policies/new/")
    page.locator("#id_name").fill("Payments primary")
    page.locator("#id_team").select_option(label=TEAM)
    page.locator("#id_tiers-0-delay_minutes").fill("30")
    page.locator("#id_tiers-0-targets").select_option(f"person:{ana}")
    page.locator("#id_tiers-1-delay_minutes").fill("30")
    page.locator("#id_tiers-1-targets").select_option(f"person:{ben}")
    page.locator("#id_reason").fill("Agreed at the payments on-call review")
    page.locator("#save-policy").click()

    expect(page).to_have_url(re.compile(r"/escalation/policies/\d+/$"))
    expect(page.locator("#policy-name")).to_have_text("Payments primary")
    tiers = page.locator("#current-version li.esc-tier")
    expect(tiers).to_have_count(2)
    expect(tiers.nth(0)).to_have_attribute("data-tier", "1")
    expect(tiers.nth(0)).to_contain_text(f"Pages: {ANA}")
    expect(tiers.nth(1)).to_have_attribute("data-tier", "2")
    expect(tiers.nth(1)).to_contain_text(f"Pages: {BEN}")
    expect(tiers.nth(0)).to_contain_text("waits 30 min")

    form = page.locator("#link-service-form")
    form.locator("#id_service").select_option(str(stack.service))
    form.locator("#link-service").click()
    expect(page.locator(f'#policy-services li[data-service="{stack.service}"]')).to_contain_text(SERVICE)


def report_incident(page, stack):
    page.goto("/incidents/new/")
    page.locator("#id_service").select_option(str(stack.service))
    page.locator("#id_title").fill("Card payments failing")
    page.locator("#id_urgency").select_option("high")
    page.locator("#trigger").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    expect(page.locator("#status")).to_have_attribute("data-status", "triggered")
    return page.locator(".page-head[data-incident]").get_attribute("data-incident")


def open_dashboard(page, errors):
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    expect(page.locator("#dashboard-live")).to_have_attribute("data-live", "on", **LIVE)
    expect(page.locator("#no-open-incidents")).to_be_visible()
    # Gone if the page were ever loaded again: every later change must arrive through the stream.
    page.evaluate("window.sameDashboard = true")


def test_policy_from_the_builder_pages_tier_by_tier_live_on_the_dashboard(context, stack):
    responder = context.new_page()
    sign_in(responder)
    build_policy(responder, stack)

    board, errors = context.new_page(), []
    open_dashboard(board, errors)

    number = report_incident(responder, stack)
    row = board.locator(f'#open-incidents tr[data-incident="{number}"]')
    escalation, paged = row.locator("td.escalation"), row.locator("td.paged")
    # The engine (another process) pages tier 1 at once; the stream tells the dashboard.
    expect(row).to_be_visible(**LIVE)
    expect(escalation).to_have_attribute("data-tier", "1", **LIVE)
    expect(escalation).to_contain_text("tier 1 of 2")
    expect(paged).to_contain_text(ANA, **LIVE)
    expect(paged).not_to_contain_text(BEN)
    # Inside tier 1's 30-minute window the next step is the follow-up (15 minutes by default).
    expect(row.locator("td.next .next-step .what")).to_have_text("follow-up 1")
    expect(row.locator("td.next .next-step .when")).to_have_text(re.compile(r"^in \d+ s$"))

    responder.locator("#escalate").click()
    expect(responder.locator("#status")).to_have_attribute("data-status", "triggered")
    expect(escalation).to_have_attribute("data-tier", "2", **LIVE)
    expect(escalation).to_contain_text("tier 2 of 2")
    expect(paged).to_contain_text(BEN, **LIVE)
    expect(paged.locator(".paged-person.current")).to_have_text(BEN)
    expect(paged).to_contain_text(ANA)

    responder.locator("#ack").click()
    expect(responder.locator("#status")).to_have_attribute("data-status", "acknowledged")
    expect(row.locator("td.status")).to_have_attribute("data-status", "acknowledged", **LIVE)
    expect(row).to_have_attribute("data-status", "acknowledged")
    expect(row.locator("td.next .next-step")).to_have_count(0, **LIVE)  # escalation has stopped

    expect(board.locator("#dashboard-live")).to_have_attribute("data-live", "on")
    assert board.evaluate("window.sameDashboard === true"), "the dashboard was reloaded"
    assert errors == [], f"the dashboard's script failed: {errors}"
