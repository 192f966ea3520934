"""Message rendering: SMS segment counting, the built-in template of each channel, bundles, an
administrator's template used or falling back (with the reason) on every kind of failure, the
security need-to-know rule, and HTML escaping of untrusted incident text."""

from datetime import datetime, timezone

import pytest

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.incidents import services as incidents
from tocsin.notify import rendering
from tocsin.notify.models import MessageTemplate
from tocsin.notify.rendering import render, sms_segments, validate

SYSTEM = audit.Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # 10:00 in Berlin (CET)
LINKS = {"ack_url": "https://tocsin.example/ack/AbC123", "resolve_url": "https://tocsin.example/ack/ReS456",
         "incident_url": "https://tocsin.example/incidents/7/"}
CHANNELS = ("email", "sms", "voice", "chat", "webhook")


@pytest.fixture
def service(make_team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Checkout API", kind="technical",
                                  owner_team=make_team("Payments"), tier=1)


@pytest.fixture
def ana(person):
    return person("Ana Berg", time_zone="Europe/Berlin")


@pytest.fixture
def trigger(service):
    def make(title="Checkout API error rate above 5 %", **fields):
        return incidents.trigger_incident(service, title, actor=SYSTEM, at=T0, **fields)
    return make


def context_of(incident, person=None, **kwargs):
    return rendering.incident_context(incident, person, links=LINKS, **kwargs)


def custom(channel, body, *, urgency="high", subject="", sms_segments=1):
    return MessageTemplate.objects.create(channel=channel, urgency=urgency, subject=subject, body=body,
                                          sms_segments=sms_segments)


# --- SMS segments -----------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", 0),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("é" * 160, 1),  # é, à, ñ, Ø … are in the GSM-7 basic table
    ("€" * 80, 1),  # extension characters take two septets
    ("€" * 81, 2),
    ("a" * 159 + "^", 2),
    ("a" * 152 + "€" + "a" * 153, 3),  # the escape pair does not fit at the end of part 1
    ("ж" * 70, 1),  # Cyrillic: UCS-2
    ("ж" * 71, 2),
    ("ж" * 134, 2),
    ("ж" * 135, 3),
    ("Ошибка: й, ё" + "a" * 58, 1),
    ("Ошибка: й, ё" + "a" * 59, 2),
    ("🔥" * 35, 1),  # beyond the BMP: two UTF-16 units each
    ("🔥" * 36, 2),
    ("a" * 69 + "🔥", 2),
    ("a" * 66 + "🔥" + "a" * 67, 3),  # the pair is not split across parts
])
def test_sms_segments(text, expected):
    assert sms_segments(text) == expected


def test_one_non_gsm_character_switches_the_whole_message_to_ucs2():
    assert sms_segments("a" * 100) == 1
    assert sms_segments("a" * 99 + "…") == 2


# --- context ----------------------------------------------------------------------


def test_context_holds_the_incident_in_the_persons_time_zone_and_no_contact_data(trigger, ana, db):
    incident = trigger(details="x" * 5000, urgency="low")
    context = context_of(incident, ana, deadline_minutes=5)
    assert context["incident"]["reference"] == f"#{incident.number}"
    assert context["incident"]["created_at"] == "2026-03-02 10:00 CET"
    assert context["incident"]["urgency"] == "low"
    assert len(context["incident"]["details"]) == rendering.DETAILS_LIMIT
    assert context["service"] == {"name": "Checkout API", "tier": 1, "owner_team": "Payments"}
    assert context["person"] == {"name": "Ana Berg"}
    assert context["links"] == LINKS
    assert context["action"] == "Acknowledge within 5 minutes or the next tier is paged"
    assert context_of(incident, ana)["action"] == "Acknowledge or resolve"
    assert context["bundle"] == [] and context["security"] is False


def test_sample_context_is_incident_42():
    context = rendering.sample_context()
    assert context["incident"]["reference"] == "#42"
    assert context["incident"]["title"] == "Checkout API error rate above 5 %"
    assert [item["reference"] for item in rendering.sample_context(bundle=True)["bundle"]] == ["#41", "#42", "#43"]


# --- built-in templates -------------------------------------------------------------


def test_built_in_email(trigger, ana, db):
    incident = trigger(details="5xx at 7 %")
    rendered = render("email", "high", context_of(incident, ana, deadline_minutes=5))
    assert rendered.template == "built-in" and rendered.problem == ""
    assert rendered.subject == f"[Tocsin] #{incident.number} Checkout API error rate above 5 %"
    for expected in ("Acknowledge within 5 minutes", LINKS["ack_url"], LINKS["resolve_url"], "Checkout API (tier 1",
                     "2026-03-02 10:00 CET", "5xx at 7 %"):
        assert expected in rendered.text
    assert f'href="{LINKS["ack_url"]}"' in rendered.html and "Payments" in rendered.html
    assert rendered.segments == 0


def test_built_in_sms_fits_one_segment_and_ends_with_reply_and_link(trigger, db):
    rendered = render("sms", "high", context_of(trigger()))
    assert rendered.segments == 1 == sms_segments(rendered.text)
    assert "Checkout API error rate above 5 %" in rendered.text
    assert rendered.text.endswith(f"Reply 1 ack, 2 esc {LINKS['ack_url']}")


def test_built_in_sms_truncates_a_long_title_to_fit(trigger, db):
    rendered = render("sms", "high", context_of(trigger("Replication lag " * 12)))
    assert rendered.segments == 1 and len(rendered.text) <= 160
    assert "Replication lag Replication" in rendered.text and "..." in rendered.text
    assert rendered.text.endswith(f"Reply 1 ack, 2 esc {LINKS['ack_url']}")


def test_built_in_sms_of_a_unicode_title_uses_the_ellipsis_within_two_segments(trigger, db):
    # The budget of a failing custom template (2 segments) still bounds the built-in message.
    custom("sms", "{{ incident.title }} " * 20, sms_segments=2)
    rendered = render("sms", "high", context_of(trigger("Ошибка базы данных: реплика отстаёт " * 5)))
    assert rendered.template == "built-in" and "SMS segments" in rendered.problem
    assert rendered.segments == 2 == sms_segments(rendered.text)
    assert "Ошибка базы данных" in rendered.text and "…" in rendered.text
    assert rendered.text.endswith(f"Reply 1 ack, 2 esc {LINKS['ack_url']}")


def test_built_in_voice_speaks_no_urls(trigger, db):
    incident = trigger("Probe failed: see https://grafana.example/d/abc for details")
    rendered = render("voice", "high", context_of(incident))
    assert f"incident {incident.number}" in rendered.text and "Press 1 to acknowledge" in rendered.text
    assert "http" not in rendered.text and "tocsin.example" not in rendered.text


@pytest.mark.parametrize("channel", ["chat", "webhook"])
def test_built_in_chat_and_webhook(channel, trigger, db):
    incident = trigger()
    rendered = render(channel, "high", context_of(incident))
    assert rendered.template == "built-in" and rendered.subject.startswith(f"[Tocsin] #{incident.number}")
    assert f"#{incident.number} Checkout API error rate above 5 %" in rendered.text
    assert "Checkout API" in rendered.text and rendered.html == ""


# --- bundles ------------------------------------------------------------------------


def test_bundle_is_one_message_listing_every_incident(trigger, db):
    first, second, third = trigger("Disk full on db-3"), trigger("Login slow"), trigger("Queue backlog")
    bundle = [(second, "https://tocsin.example/incidents/2/"), (third, "https://tocsin.example/incidents/3/")]
    context = context_of(first, bundle=bundle)  # the carrier is listed first
    refs = [first.reference, second.reference, third.reference]
    email = render("email", "high", context)
    assert email.subject == f"[Tocsin] 3 new incidents: {', '.join(refs)}"
    assert all(ref in email.text for ref in refs) and "https://tocsin.example/incidents/3/" in email.text
    sms = render("sms", "high", context)
    assert sms.text.startswith(f"Tocsin: 3 new incidents: {refs[0]} Disk full on db-3, {refs[1]} Login slow")
    assert sms.segments == 1
    for channel in ("voice", "chat", "webhook"):
        assert "3 new incidents" in render(channel, "high", context).text


def test_bundle_sms_lists_as_many_references_as_fit_then_and_n_more(trigger, db):
    many = [trigger(f"Heartbeat missed on worker {n}") for n in range(40)]
    rendered = render("sms", "high", context_of(many[0], bundle=many[1:]))
    assert rendered.segments == 1 and rendered.text.startswith("Tocsin: 40 new incidents: ")
    listed = rendered.text.split(": ", 2)[2].split(" and ")[0].split(", ")
    assert listed == [i.reference for i in many[:len(listed)]] and 1 < len(listed) < 40
    assert f"and {40 - len(listed)} more. Reply 1 ack, 2 esc {LINKS['ack_url']}" in rendered.text


def test_custom_template_that_ignores_the_bundle_falls_back(trigger, db):
    custom("chat", "Alert {{ incident.reference }}")
    first, second = trigger(), trigger("Second")
    rendered = render("chat", "high", context_of(first, bundle=[second]))
    assert rendered.template == "built-in" and "bundle" in rendered.problem
    assert second.reference in rendered.text
    custom("sms", "{{ bundle|length }} incidents: {% for i in bundle %}{{ i.reference }} {% endfor %}")
    assert render("sms", "high", context_of(first, bundle=[second])).template == "custom"


# --- custom templates and their fallback -------------------------------------------


def test_custom_template_is_used_for_its_channel_and_urgency(trigger, ana, db):
    custom("email", "Hello {{ person.name }}, {{ incident.reference }} needs you: {{ links.ack_url }}",
           subject="PAGE {{ incident.reference }}\n{{ incident.title }}")
    incident = trigger()
    rendered = render("email", "high", context_of(incident, ana))
    assert rendered.template == "custom" and rendered.problem == ""
    assert rendered.subject == f"PAGE {incident.reference} Checkout API error rate above 5 %"  # one line
    assert rendered.text == f"Hello Ana Berg, {incident.reference} needs you: {LINKS['ack_url']}"
    assert "Hello Ana Berg" in rendered.html
    assert render("email", "low", context_of(incident, ana)).template == "built-in"
    assert render("sms", "high", context_of(incident, ana)).template == "built-in"


@pytest.mark.parametrize("body, problem", [
    ("Oops {% if incident.title %}no end", "Line 1: syntax error"),
    ("Fine\n{{ incident.owner_phone }}", "Line 2: unknown variable"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed in a template: access to attribute '__class__'"),
    ("{% for i in range(100000) %}x{% endfor %}", "range takes numbers up to 1000"),
    ("{% for i in range(-999, 999) %}{% endfor %}", "range() is limited to 1000 items"),
    ("{% for i in range(999) %}{% for j in range(999) %}{% endfor %}{% endfor %}", "steps"),
    ("{{ 'x' * 1000000 }}", "64 KiB"),
    ("{% for i in range(999) %}{{ incident.title * 20 }}{% endfor %}", "output is larger than 64 KiB"),
    ("{{ 'a'.center(100000000) }}", "not allowed"),
    ("{% macro grow(s) %}{{ grow(s ~ s) }}{% endmacro %}{{ grow('x') }}", "64 KiB"),
    ("{{ '%999999999s' % 'x' }}", "format widths"),
])
def test_broken_custom_template_falls_back_to_built_in_with_problem(body, problem, trigger, db):
    custom("chat", body)
    incident = trigger()
    rendered = render("chat", "high", context_of(incident))
    assert rendered.template == "built-in"
    assert problem in rendered.problem
    assert rendered.text.startswith(f"#{incident.number} Checkout API error rate above 5 %")


def test_sms_over_its_budget_falls_back_to_built_in(trigger, db):
    custom("sms", "{{ incident.reference }} " + "x" * 200 + " {{ links.ack_url }}")
    rendered = render("sms", "high", context_of(trigger()))
    assert rendered.template == "built-in"
    assert rendered.problem == "body: the message needs 2 SMS segments; at most 1 is allowed"
    assert rendered.segments == 1


def test_custom_sms_within_two_segments_is_used(trigger, db):
    custom("sms", "{{ incident.reference }} " + "x" * 200, sms_segments=2)
    rendered = render("sms", "high", context_of(trigger()))
    assert rendered.template == "custom" and rendered.segments == 2


def test_render_never_raises_even_without_the_usual_context(db):
    rendered = render("sms", "high", {"incident": {"reference": "#9", "title": "Odd"}, "links": {}})
    assert rendered.text.startswith("Tocsin: incident #9 Odd") and rendered.problem
    assert render("pigeon", "high", rendering.sample_context()).problem == "unknown channel 'pigeon'"


# --- security incidents -------------------------------------------------------------


def test_security_incident_is_withheld_from_an_audience_that_may_not_see_it(trigger, service, make_team, db):
    other = catalog.create_service(actor=SYSTEM, source="cli", name="Identity provider", kind="technical",
                                   owner_team=make_team("Identity"), tier=1)
    incident = trigger("Suspicious logins", details="Attacker IP 203.0.113.9", security_category="intrusion",
                       related_services=[other])
    seen = context_of(incident)
    assert seen["incident"]["details"] and seen["incident"]["related"] == ["Identity provider"]
    hidden = context_of(incident, audience_may_see=False)
    assert hidden["security"] is True and hidden["withheld"] is True
    assert hidden["incident"]["title"] == "Suspicious logins"
    assert hidden["incident"]["reference"] == incident.reference
    assert hidden["incident"]["details"] == "" and hidden["incident"]["related"] == []
    assert hidden["incident"]["service"] == "withheld" and hidden["service"]["name"] == "withheld"
    assert hidden["incident"]["priority"] == "" and hidden["links"] == LINKS
    for channel in CHANNELS:
        rendered = render(channel, "high", hidden)
        for secret in ("203.0.113.9", "Checkout API", "Identity provider", "Payments"):
            assert secret not in rendered.text + rendered.html + rendered.subject, (channel, secret)
        assert "Suspicious logins" in rendered.text


def test_an_ordinary_incident_is_not_withheld(trigger, db):
    context = context_of(trigger(details="Stack trace"), audience_may_see=False)
    assert context["withheld"] is False and context["incident"]["details"] == "Stack trace"


# --- escaping -----------------------------------------------------------------------


def test_html_escapes_an_untrusted_title_in_built_in_and_custom_templates(trigger, db):
    incident = trigger("<script>alert(1)</script> & more")
    built_in = render("email", "high", context_of(incident))
    assert "<script>" not in built_in.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in built_in.html
    assert "<script>alert(1)</script> & more" in built_in.text  # the text part is plain text
    custom("email", "<b>{{ incident.title }}</b>")
    rendered = render("email", "high", context_of(incident))
    assert rendered.template == "custom" and "<script>" not in rendered.html
    assert "<b>&lt;script&gt;" in rendered.html


# --- validation ---------------------------------------------------------------------


def test_validate_names_each_problem(db):
    assert validate("email", "[P] {{ incident.reference }}", "{{ incident.title }}\n{{ action }}") == {}
    assert validate("email", "", "Hi\n\n{% for x in %}")["body"].startswith("Line 3: syntax error")
    assert "Line 2: unknown variable" in validate("chat", "", "Hi\n{{ nope }}")["body"]
    assert "unknown variable" in validate("email", "{{ incident.nope }}", "fine")["subject"]
    assert "'__class__'" in validate("webhook", "", "{{ ''.__class__ }}")["body"]
    assert validate("sms", "", "   ")["body"].startswith("Write the message")
    assert validate("sms", "", "hi", 3) == {"sms_segments": "An SMS may take 1 or 2 segments."}
    over = validate("sms", "", "x" * 170 + "{{ incident.reference }}")["body"]
    assert over.startswith("With the sample incident the message needs 2 SMS segments; at most 1 is allowed")
    assert validate("sms", "", "x" * 170 + "{{ incident.reference }}", 2) == {}
    assert "Unknown channel" in validate("fax", "", "hi")["channel"]
    assert "At most" in validate("chat", "", "x" * (rendering.BODY_LIMIT + 1))["body"]
