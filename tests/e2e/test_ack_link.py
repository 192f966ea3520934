"""The acknowledgement link in a real browser against `tocsin serve`: an incident pages Ana by
e-mail through a real SMTP exchange, the link in that e-mail opens a confirmation page (opening it
acknowledges nothing), its button acknowledges, and the incident page shows the delivery."""

import re

import pytest
from playwright.sync_api import expect

from tests.engine.processes import django
from tests.notify.servers import SmtpSink

from .served import ADMIN, PASSWORD, ServedInRange, cleanup, prepare, workdir

LIVE = {"timeout": 20_000}  # the engine and the SMTP exchange are real; no assertion is about time

SETUP = """
import json
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
from tocsin.directory import services as directory
from tocsin.escalation import services as escalation
from tocsin.incidents import services as incidents

SYSTEM = audit.Actor.system("e2e")
team = core.create_team(actor=SYSTEM, name="Payments team")
ana = directory.create_person(actor=SYSTEM, source="cli", name="Ana Silva")
directory.add_method(actor=SYSTEM, person=ana, kind="email", value="ana@example.org")
service = catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                 tier=2)
policy = escalation.create_policy("Payments primary", {"tiers": [
    {"delay_minutes": 30, "targets": [{"type": "person", "id": ana.pk}]}]}, actor=SYSTEM)
escalation.link_service(service, policy, actor=SYSTEM)
incident = incidents.trigger_incident(service, "Card payments failing", actor=SYSTEM)
print(json.dumps({"number": incident.number}))
"""


@pytest.fixture
def paged():
    path = workdir()
    try:
        with SmtpSink() as sink:
            env, _ = prepare(path)
            server = ServedInRange(env)
            env.update(TOCSIN_BASE_URL=server.base,
                       TOCSIN_SMTP_URL=f"smtp://127.0.0.1:{sink.port}?from=tocsin@example.org")
            with server:
                try:
                    number = django(env, SETUP)["number"]
                    yield server, sink, number
                finally:
                    print(f"--- tocsin serve on port {server.port} logged ---\n{server.tail()}")
    finally:
        cleanup(path)


def test_the_emailed_link_acknowledges_after_its_button_and_the_incident_page_shows_the_delivery(browser, paged):
    server, sink, number = paged
    sink.wait_for(1, timeout=30)
    mail = sink.messages[0]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/ack/[a-z0-9]+", text).group(0)
    assert link.startswith(server.base)

    context = browser.new_context(base_url=server.base)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Acknowledge incident #{number}")
    page.goto(link)  # a mail scanner's second look: still nothing acknowledged
    page.get_by_role("button", name=f"Acknowledge #{number}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Incident #{number} is acknowledged")

    page.goto("/login/")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/incidents/{number}/")
    expect(page.locator("body")).to_contain_text("Acknowledged by", **LIVE)
    row = page.locator("#delivery-attempts tbody tr").first
    expect(row).to_contain_text("Ana Silva")
    expect(row).to_contain_text("E-mail")
    expect(row).to_contain_text("a***@example.org")
    expect(row.locator(".badge")).to_have_text("Delivered")
    context.close()
