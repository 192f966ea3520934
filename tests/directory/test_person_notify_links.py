"""The person page links to notify's pages only for those who may use them: a "Verify" link per
contact method and a link to the notification rules, for the person themself (their own rules
page) and for stewards of their team (the rules page by person); others see neither."""

import re

import pytest

from tocsin.directory import services

from .conftest import SYSTEM


def verify_links(page):
    return re.findall(r'href="(/notify/verify/method/\d+/)" data-testid="verify">([^<]+)<', page)


def rules_link(page):
    match = re.search(r'href="([^"]+)" data-testid="notification-rules"', page)
    return match.group(1) if match else None


@pytest.fixture
def people(make_user, make_team, person, phone):
    network = make_team("Network")
    make_team("Database")
    ana_user = make_user("ana", roles=["responder"])
    ana = person("Ana Network", user=ana_user, teams=[network])
    sms = phone(ana, "+49 30 1234542")
    mail = services.add_method(actor=SYSTEM, source="cli", person=ana, kind="email", value="ana@example.org")
    services.mark_verified(mail, actor=SYSTEM, source="cli", how="steward")
    return {"ana": ana, "ana_user": ana_user, "sms": sms, "mail": mail,
            "steward": make_user("stew", roles=[("contact_steward", "network")]),
            "other_steward": make_user("dora", roles=[("contact_steward", "database")]),
            "viewer": make_user("vera", roles=["viewer"])}


def page_for(login, user, ana):
    response = login(user).get(f"/directory/people/{ana.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_person_sees_verify_links_and_their_own_rules_page(people, login):
    ana, sms, mail = people["ana"], people["sms"], people["mail"]
    page = page_for(login, people["ana_user"], ana)
    assert sorted(verify_links(page)) == sorted([(f"/notify/verify/method/{sms.pk}/", "Verify"),
                                                 (f"/notify/verify/method/{mail.pk}/", "Verify again")])
    assert rules_link(page) == "/notify/rules/"
    assert re.search(rf'data-testid="method-{mail.pk}".*?data-testid="verified">.*?verified', page, re.S)
    assert re.search(rf'data-testid="method-{sms.pk}".*?data-testid="verified">.*?not verified', page, re.S)
    # The links lead to pages she may use.
    client = login(people["ana_user"])
    assert client.get(f"/notify/verify/method/{sms.pk}/").status_code == 200
    assert client.get("/notify/rules/").status_code == 200


def test_a_steward_of_the_team_sees_the_links_to_the_persons_pages(people, login):
    ana, sms = people["ana"], people["sms"]
    page = page_for(login, people["steward"], ana)
    assert len(verify_links(page)) == 2
    assert rules_link(page) == f"/notify/people/{ana.pk}/rules/"
    client = login(people["steward"])
    assert client.get(f"/notify/verify/method/{sms.pk}/").status_code == 200
    assert client.get(rules_link(page)).status_code == 200


@pytest.mark.parametrize("who", ["viewer", "other_steward"])
def test_others_see_no_links_they_could_not_use(people, login, who):
    ana, sms = people["ana"], people["sms"]
    page = page_for(login, people[who], ana)
    assert verify_links(page) == [] and rules_link(page) is None
    assert "not verified" in page  # the state is still shown
    client = login(people[who])
    assert client.get(f"/notify/verify/method/{sms.pk}/").status_code == 403
    assert client.get(f"/notify/people/{ana.pk}/rules/").status_code == 403
