"""The one place messages are rendered: what templates see, the built-in templates, administrators'
sandboxed Jinja2 templates with their fallback, and SMS segment counting."""

import contextvars
import functools
import logging
import re
import time
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes, pass_eval_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .models import CHANNELS, CHAT, EMAIL, SMS, VOICE, WEBHOOK, MessageTemplate

log = logging.getLogger("tocsin.notify")

CUSTOM, BUILT_IN = "custom", "built-in"
CHANNEL_NAMES = dict(CHANNELS)

# Guards on administrators' templates: a template is configuration, but a slip (or a hostile admin
# session) must not stall the dispatcher or fill its memory.
OUTPUT_LIMIT = 64 * 1024  # characters of one rendered part
MAX_STEPS = 20_000  # loop iterations, calls and intercepted operators of one render
RENDER_SECONDS = 1.0
RANGE_LIMIT = 1000
NUMBER_LIMIT = 1000  # widths and counts given to filters that pad or repeat
BODY_LIMIT = 10_000  # characters of template source
SUBJECT_LIMIT = 300  # Attempt.subject and MessageTemplate.subject
DETAILS_LIMIT = 1000
DEFAULT_SMS_SEGMENTS = 1
SMS_SEGMENT_CHOICES = (1, 2)
WITHHELD = "withheld"

# GSM 03.38: the basic table (one septet each; the escape code itself left out) and the
# extension table, whose characters take an escape plus a septet.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7 = GSM7_BASIC | GSM7_EXTENSION

URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
# printf-style widths or precisions of four digits or more, or taken from an argument (*).
WIDE_FORMAT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{4,}|\d*\.(?:\*|\d{4,}))")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""
    segments: int = 0  # SMS only
    template: str = BUILT_IN
    problem: str = ""  # why the custom template was not used


class TemplateProblem(Exception):
    """Why an administrator's template cannot be used, naming the field and, where known, the line."""

    def __init__(self, message, field="body"):
        super().__init__(message)
        self.field = field


# --- SMS segments ---------------------------------------------------------------


def is_gsm7(text):
    return all(ch in GSM7 for ch in text)


def sms_segments(text):
    """How many SMS segments `text` takes: GSM-7 160 alone or 153 per part (extension characters
    count twice), else UCS-2 70 alone or 67 per part (characters beyond the BMP count twice).
    A character's units are never split across two parts."""
    if not text:
        return 0
    if is_gsm7(text):
        units, single, part = [2 if ch in GSM7_EXTENSION else 1 for ch in text], 160, 153
    else:
        units, single, part = [2 if ord(ch) > 0xFFFF else 1 for ch in text], 70, 67
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


# --- what templates see ---------------------------------------------------------


def _zone(person):
    try:
        return ZoneInfo(getattr(person, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _truncate(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _action(incident, deadline_minutes):
    if incident.status == incident.RESOLVED:
        return "No action required: the incident is resolved"
    if incident.status == incident.ACKNOWLEDGED:
        return "Resolve when it is fixed"
    if deadline_minutes:
        unit = "minute" if deadline_minutes == 1 else "minutes"
        return f"Acknowledge within {deadline_minutes} {unit} or the next tier is paged"
    return "Acknowledge or resolve"


def withhold(context):
    """The need-to-know rule for security incidents: an audience that may not see the incident
    learns only its reference and title (and how to act on it); its details, service, priority
    and related services are withheld. The keys stay, so templates still render."""
    incident = dict(context["incident"], details="", service=WITHHELD, priority="", related=[])
    return dict(context, incident=incident, service={"name": WITHHELD, "tier": "", "owner_team": WITHHELD},
                withheld=True)


def _bundle_item(item):
    incident, url = item if isinstance(item, tuple) else (item, "")
    return {"reference": incident.reference, "title": incident.title, "incident_url": url or ""}


def incident_context(incident, person, *, links, bundle=(), audience_may_see=True, deadline_minutes=None):
    """The variables every template sees for a message about `incident` to `person` (None for a
    service's chat room or webhook). `links` holds ack_url, resolve_url and incident_url; `bundle`
    lists the incidents one message carries, as incidents or (incident, incident_url) pairs (the
    carrier is added first when missing). Never any contact data."""
    links = {key: str((links or {}).get(key) or "") for key in ("ack_url", "resolve_url", "incident_url")}
    may_see = audience_may_see or not incident.security
    service = incident.service
    created = timezone.localtime(incident.created_at, _zone(person)) if incident.created_at else None
    related = (sorted(s.name for s in incident.related_services.all())
               if may_see and incident.pk is not None else [])
    context = {
        "incident": {
            "number": incident.number,
            "reference": incident.reference,
            "title": incident.title,
            "status": incident.status,
            "urgency": incident.urgency,
            "priority": incident.priority.name if incident.priority else "",
            "service": service.name,
            "created_at": created.strftime("%Y-%m-%d %H:%M %Z") if created else "",
            "details": _truncate(incident.details, DETAILS_LIMIT),
            "related": related,
        },
        "service": {"name": service.name, "tier": service.tier, "owner_team": service.owner_team.name},
        "person": {"name": getattr(person, "name", "") or ""},
        "links": links,
        "action": _action(incident, deadline_minutes),
        "bundle": [],
        "security": bool(incident.security),
        "withheld": False,
    }
    if bundle:
        items = [_bundle_item(item) for item in bundle]
        if incident.reference not in {item["reference"] for item in items}:
            items.insert(0, {"reference": incident.reference, "title": incident.title,
                             "incident_url": links["incident_url"]})
        context["bundle"] = items
    return context if may_see else withhold(context)


VARIABLES = ("incident", "service", "person", "links", "action", "bundle", "security", "withheld")
SAMPLE_TITLE = "Checkout API error rate above 5 %"


def sample_context(*, bundle=False):
    """A plausible context for previews and validation: #42 on a tier-1 service, not saved anywhere."""
    from tocsin.catalog.models import Service
    from tocsin.core.models import Team
    from tocsin.directory.models import Person
    from tocsin.incidents.models import Incident, Priority

    base = getattr(settings, "BASE_URL", "https://tocsin.example").rstrip("/")
    service = Service(name="Checkout API", tier=1, owner_team=Team(name="Payments"))

    def sample(number, title):
        return Incident(number=number, title=title, service=service, status=Incident.TRIGGERED,
                        urgency=Incident.HIGH, created_at=timezone.now(),
                        details="5xx responses at 7.2 % over 5 minutes (threshold 5 %).\nRegion eu-west.")

    incident = sample(42, SAMPLE_TITLE)
    incident.priority = Priority(name="P1", rank=1)
    links = {"ack_url": f"{base}/ack/SAMPLE-TOKEN", "resolve_url": f"{base}/ack/SAMPLE-RESOLVE",
             "incident_url": f"{base}/incidents/42/"}
    others = []
    if bundle:
        others = [(sample(41, "Disk 91 % full on db-3"), f"{base}/incidents/41/"), (incident, links["incident_url"]),
                  (sample(43, "Login latency p99 above 2 s"), f"{base}/incidents/43/")]
    return incident_context(incident, Person(name="Alex Morgan", time_zone="Europe/Berlin"), links=links,
                            bundle=others, deadline_minutes=5)


# --- the sandbox ----------------------------------------------------------------


class _Budget:
    def __init__(self):
        self.steps = 0
        self.deadline = time.monotonic() + RENDER_SECONDS

    def step(self):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template does more than {MAX_STEPS} steps")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"the template takes more than {RENDER_SECONDS:g} s to render")


_budget = contextvars.ContextVar("tocsin_template_budget", default=None)


def _step():
    budget = _budget.get()
    if budget is not None:
        budget.step()


def _sized(value):
    if isinstance(value, (str, list, tuple)) and len(value) > OUTPUT_LIMIT:
        raise SecurityError(f"a value grows beyond {OUTPUT_LIMIT // 1024} KiB")
    return value


def _small_numbers(values, what):
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > NUMBER_LIMIT:
            raise SecurityError(f"{what} takes numbers up to {NUMBER_LIMIT} here")


class MessageSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox (no attribute escapes, no changes to lists or dicts) with limits
    on time and size: every loop iteration, call and intercepted operator is a step of a budget,
    `range` is short, values and output are capped, and methods and filters that pad or repeat
    take only small numbers."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    REFUSED_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "format",
                                 "format_map"})
    SMALL_NUMBER_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice", "random"})

    def __init__(self, *, html):
        super().__init__(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=False)
        # No lipsum (unbounded output) and no namespace (state that grows across iterations).
        self.globals = {"range": self.short_range, "dict": dict, "cycler": self.globals["cycler"],
                        "joiner": self.globals["joiner"]}
        self.filters = {name: self._guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters["replace"] = self._guarded_replace(self.filters["replace"])

    def short_range(self, *args):
        _small_numbers(args, "range")
        span = range(*args)
        if len(span) > RANGE_LIMIT:
            raise SecurityError(f"range() is limited to {RANGE_LIMIT} items")
        return span

    def guard_loop(self, iterable):
        for item in iterable:
            _step()
            yield item

    def _guarded_filter(self, name, function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            _step()
            for value in (*args, *kwargs.values()):
                _sized(value)
            if name in self.SMALL_NUMBER_FILTERS:
                _small_numbers((*args[1:], *kwargs.values()), f"the filter '{name}'")
            if name == "format" and args and isinstance(args[0], str) and WIDE_FORMAT.search(args[0]):
                raise SecurityError("format widths are limited to three digits")
            return _sized(function(*args, **kwargs))

        return guarded

    def _guarded_replace(self, original):
        @pass_eval_context
        def replace(eval_ctx, value, old, new, count=None):
            text, old_text, new_text = str(value), str(old), str(new)
            found = text.count(old_text) if count is None else min(text.count(old_text), max(count, 0))
            if len(text) + found * (len(new_text) - len(old_text)) > OUTPUT_LIMIT:
                raise SecurityError(f"replace would grow the text beyond {OUTPUT_LIMIT // 1024} KiB")
            return original(eval_ctx, value, old, new, count)

        return replace

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, str) and attr in self.REFUSED_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator, left, right):
        _step()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > OUTPUT_LIMIT:
                    raise SecurityError(f"a value grows beyond {OUTPUT_LIMIT // 1024} KiB")
        elif operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("powers are limited to exponents up to 64")
        elif operator == "%" and isinstance(left, str) and WIDE_FORMAT.search(left):
            raise SecurityError("format widths are limited to three digits")
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805  (names as Jinja's own, kwargs-safe)
        _step()
        for value in (*args, *kwargs.values()):
            _sized(value)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def _parse(self, source, name, filename):
        # Every {% for %} iterates through guard_loop, so loops count against the budget too.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("guard_loop"), [loop.iter], [], None, None,
                                   lineno=loop.iter.lineno)
        return tree


TEXT_ENV = MessageSandbox(html=False)
HTML_ENV = MessageSandbox(html=True)


@functools.lru_cache(maxsize=128)
def _compile(source, html):
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


@functools.lru_cache(maxsize=128)
def _variables(source):
    try:
        return frozenset(meta.find_undeclared_variables(TEXT_ENV.parse(source)))
    except TemplateSyntaxError as exc:
        raise TemplateProblem(_describe(exc)) from None


def _line_of(exc):
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc):
    line = _line_of(exc)
    where = f"Line {line}: " if line else ""
    if isinstance(exc, TemplateSyntaxError):
        return f"{where}syntax error: {exc.message}"
    if isinstance(exc, UndefinedError):
        return f"{where}unknown variable: {exc.message} (the variables are {', '.join(VARIABLES)})"
    if isinstance(exc, SecurityError):
        return f"{where}not allowed in a template: {exc}"
    if isinstance(exc, RecursionError):
        return f"{where}the template calls itself too deeply"
    return f"{where}{type(exc).__name__}: {str(exc)[:200]}"


def _run(source, context, *, html=False, field="body"):
    """Render `source` in the sandbox, or raise TemplateProblem naming what went wrong."""
    token = _budget.set(_Budget())
    try:
        parts, size = [], 0
        for chunk in _compile(source, html).generate(context):
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                raise SecurityError(f"the output is larger than {OUTPUT_LIMIT // 1024} KiB")
            parts.append(chunk)
        return "".join(parts)
    except Exception as exc:  # noqa: BLE001  (any failure of a template is a reason to fall back)
        raise TemplateProblem(_describe(exc), field) from None
    finally:
        _budget.reset(token)


def _one_line(text, limit=SUBJECT_LIMIT):
    return _truncate(" ".join(text.split()), limit)


def _without_urls(text):
    return re.sub(r"[ \t]{2,}", " ", URL.sub("", text)).strip()


# --- built-in templates ---------------------------------------------------------

BUILT_IN_SUBJECT = "[Tocsin] {{ incident.reference }} {{ incident.title }}"
BUILT_IN_BUNDLE_SUBJECT = ("[Tocsin] {{ bundle|length }} new incidents: "
                           "{% for item in bundle %}{{ item.reference }}{% if not loop.last %}, {% endif %}{% endfor %}")

BUILT_IN_EMAIL_TEXT = """\
{{ incident.reference }} {{ incident.title }}

{{ action }}.
{% if links.ack_url %}Acknowledge: {{ links.ack_url }}
{% endif %}{% if links.resolve_url %}Resolve: {{ links.resolve_url }}
{% endif %}{% if links.incident_url %}Open: {{ links.incident_url }}
{% endif %}
Status: {{ incident.status }}, {{ incident.urgency }} urgency{% if incident.priority %}, {{ incident.priority }}{% endif %}
{% if withheld %}Details are withheld: this is a security incident.
{% else %}Service: {{ service.name }} (tier {{ service.tier }}, owned by {{ service.owner_team }})
{% if incident.related %}Related: {{ incident.related|join(", ") }}
{% endif %}{% endif %}Opened: {{ incident.created_at }}
{% if incident.details %}
{{ incident.details }}
{% endif %}"""

BUILT_IN_EMAIL_HTML = """\
<!doctype html>
<html><body style="font-family: sans-serif; color: #1b1f24">
<h2 style="margin: 0 0 .5em">{{ incident.reference }} {{ incident.title }}</h2>
<p><strong>{{ action }}.</strong></p>
<p>{% if links.ack_url %}<a href="{{ links.ack_url }}">Acknowledge</a> {% endif %}
{% if links.resolve_url %}<a href="{{ links.resolve_url }}">Resolve</a> {% endif %}
{% if links.incident_url %}<a href="{{ links.incident_url }}">Open the incident</a>{% endif %}</p>
<table style="border-collapse: collapse">
<tr><th align="left">Status</th><td>{{ incident.status }}, {{ incident.urgency }} urgency\
{% if incident.priority %}, {{ incident.priority }}{% endif %}</td></tr>
{% if withheld %}<tr><th align="left">Details</th><td>Withheld: this is a security incident.</td></tr>
{% else %}<tr><th align="left">Service</th><td>{{ service.name }} (tier {{ service.tier }}, \
owned by {{ service.owner_team }})</td></tr>
{% if incident.related %}<tr><th align="left">Related</th><td>{{ incident.related|join(", ") }}</td></tr>{% endif %}
{% endif %}<tr><th align="left">Opened</th><td>{{ incident.created_at }}</td></tr>
</table>
{% if incident.details %}<pre style="white-space: pre-wrap">{{ incident.details }}</pre>{% endif %}
</body></html>
"""

BUILT_IN_BUNDLE_TEXT = """\
{{ bundle|length }} new incidents:
{% for item in bundle %}
{{ item.reference }} {{ item.title }}{% if item.incident_url %}
  {{ item.incident_url }}{% endif %}
{% endfor %}
{{ action }}.
{% if links.ack_url %}Acknowledge: {{ links.ack_url }}
{% endif %}"""

BUILT_IN_BUNDLE_HTML = """\
<!doctype html>
<html><body style="font-family: sans-serif; color: #1b1f24">
<h2 style="margin: 0 0 .5em">{{ bundle|length }} new incidents</h2>
<ul>{% for item in bundle %}
<li>{% if item.incident_url %}<a href="{{ item.incident_url }}">{{ item.reference }}</a>{% else %}\
{{ item.reference }}{% endif %} {{ item.title }}</li>{% endfor %}
</ul>
<p><strong>{{ action }}.</strong>{% if links.ack_url %} <a href="{{ links.ack_url }}">Acknowledge</a>{% endif %}</p>
</body></html>
"""

BUILT_IN_SMS = ("Tocsin{% if incident.urgency == 'low' %} (low){% endif %}: {{ incident.reference }} "
                "{{ incident.title }}{% if not withheld %} ({{ service.name }}){% endif %}. "
                "Reply 1 ack, 2 esc{% if links.ack_url %} {{ links.ack_url }}{% endif %}")
BUILT_IN_BUNDLE_SMS = ("Tocsin: {{ bundle|length }} new incidents: {{ listing }}. "
                       "Reply 1 ack, 2 esc{% if links.ack_url %} {{ links.ack_url }}{% endif %}")

BUILT_IN_VOICE = ("This is Tocsin. {{ incident.urgency|capitalize }} urgency incident {{ incident.number }}: "
                  "{{ incident.title }}.{% if not withheld %} Service {{ service.name }}.{% endif %} "
                  "Press 1 to acknowledge. Press 2 to escalate.")
BUILT_IN_BUNDLE_VOICE = ("This is Tocsin. {{ bundle|length }} new incidents. "
                         "{% for item in bundle[:5] %}Incident {{ item.reference|replace('#', '') }}: {{ item.title }}. "
                         "{% endfor %}{% if bundle|length > 5 %}And {{ bundle|length - 5 }} more. {% endif %}"
                         "Press 1 to acknowledge. Press 2 to escalate.")

BUILT_IN_CHAT = """\
{{ incident.reference }} {{ incident.title }}
{{ action }}. {{ incident.urgency|capitalize }} urgency, {{ incident.status }}\
{% if not withheld %}, {{ service.name }}{% endif %}.
{% if links.ack_url %}Acknowledge: {{ links.ack_url }}
{% endif %}{% if links.incident_url %}Open: {{ links.incident_url }}{% endif %}"""
BUILT_IN_BUNDLE_CHAT = """\
{{ bundle|length }} new incidents:
{% for item in bundle %}{{ item.reference }} {{ item.title }}{% if item.incident_url %} {{ item.incident_url }}{% endif %}
{% endfor %}{% if links.ack_url %}Acknowledge: {{ links.ack_url }}{% endif %}"""

BUILT_IN_WEBHOOK = ("{{ incident.reference }} {{ incident.title }} ({{ incident.status }}, {{ incident.urgency }} "
                    "urgency{% if not withheld %}, {{ service.name }}{% endif %})")
BUILT_IN_BUNDLE_WEBHOOK = ("{{ bundle|length }} new incidents: {% for item in bundle %}{{ item.reference }} "
                           "{{ item.title }}{% if not loop.last %}; {% endif %}{% endfor %}")

BUILT_IN_BODIES = {EMAIL: BUILT_IN_EMAIL_TEXT, SMS: BUILT_IN_SMS, VOICE: BUILT_IN_VOICE, CHAT: BUILT_IN_CHAT,
            WEBHOOK: BUILT_IN_WEBHOOK}
BUILT_IN_BUNDLE_BODIES = {EMAIL: BUILT_IN_BUNDLE_TEXT, SMS: BUILT_IN_BUNDLE_SMS, VOICE: BUILT_IN_BUNDLE_VOICE,
                   CHAT: BUILT_IN_BUNDLE_CHAT, WEBHOOK: BUILT_IN_BUNDLE_WEBHOOK}
HAS_SUBJECT = (EMAIL, CHAT, WEBHOOK)


def built_in_source(channel):
    """(subject, body) of the built-in template: the starting point of a custom one."""
    return (BUILT_IN_SUBJECT if channel in HAS_SUBJECT else ""), BUILT_IN_BODIES[channel]


def _fit_sms(render_with, title, budget):
    """The built-in SMS with the longest prefix of `title` that keeps it within `budget` segments.
    The ellipsis is '…' only when the message is UCS-2 anyway: in GSM-7 it would switch the whole
    message to UCS-2 and cost more than half its room, so GSM-7 messages use '...'."""
    def attempt(length):
        if length >= len(title):
            return render_with(title)
        cut = title[:length].rstrip()
        text = render_with(cut + "...")
        return text if is_gsm7(text) else render_with(cut + "…")

    text = attempt(len(title))
    if sms_segments(text) <= budget:
        return text
    low, high, best = 0, len(title) - 1, None
    while low <= high:
        middle = (low + high) // 2
        candidate = attempt(middle)
        if sms_segments(candidate) <= budget:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best if best is not None else attempt(0)


def _bundle_listing(bundle, render_with, budget):
    """Titles when they fit, else references only, else as many references as fit and 'and N more'."""
    variants = [", ".join(f"{item['reference']} {item['title']}" for item in bundle),
                ", ".join(item["reference"] for item in bundle)]
    variants += [", ".join(item["reference"] for item in bundle[:shown]) + f" and {len(bundle) - shown} more"
                 for shown in range(len(bundle) - 1, 0, -1)]
    for listing in variants:
        text = render_with(listing)
        if sms_segments(text) <= budget:
            return text
    return render_with(variants[-1])


def _built_in(channel, context, budget):
    bundle = context.get("bundle") or []
    source = (BUILT_IN_BUNDLE_BODIES if bundle else BUILT_IN_BODIES)[channel]
    subject_source = BUILT_IN_BUNDLE_SUBJECT if bundle else BUILT_IN_SUBJECT
    subject = _one_line(_run(subject_source, context, field="subject")) if channel in HAS_SUBJECT else ""
    html, segments = "", 0
    if channel == SMS:
        if bundle:
            text = _bundle_listing(bundle, lambda listing: _run(source, {**context, "listing": listing}), budget)
        else:
            incident = context["incident"]
            text = _fit_sms(lambda title: _run(source, {**context, "incident": {**incident, "title": title}}),
                            incident["title"], budget)
        segments = sms_segments(text)
    else:
        text = _run(source, context).strip()
        if channel == VOICE:
            text = _without_urls(text)
        if channel == EMAIL:
            html = _run(BUILT_IN_BUNDLE_HTML if bundle else BUILT_IN_EMAIL_HTML, context, html=True)
    return Rendered(subject=subject, text=text, html=html, segments=segments, template=BUILT_IN)


def _last_resort(channel, context):
    """Only if a built-in template itself failed (a context without the usual keys): plain facts."""
    incident = context.get("incident") if isinstance(context, dict) else None
    incident = incident if isinstance(incident, dict) else {}
    links = context.get("links") if isinstance(context, dict) and isinstance(context.get("links"), dict) else {}
    line = f"Tocsin: incident {incident.get('reference', '')} {incident.get('title', '')}".strip()
    if channel == SMS:
        line = f"{line[:100]}. Reply 1 ack, 2 esc {links.get('ack_url', '')}".strip()
    elif channel != VOICE and links.get("incident_url"):
        line = f"{line}\n{links['incident_url']}"
    return Rendered(subject=_one_line(line) if channel in HAS_SUBJECT else "", text=line,
                    segments=sms_segments(line) if channel == SMS else 0, template=BUILT_IN,
                    problem="the built-in template failed; plain facts were sent")


# --- administrators' templates --------------------------------------------------


def _render_custom(channel, subject, body, budget, context):
    """Render an administrator's template, or raise TemplateProblem (field and reason)."""
    if context.get("bundle") and "bundle" not in _variables(body):
        raise TemplateProblem("the template does not list bundled incidents (it never uses 'bundle')")
    rendered_subject = ""
    if channel in HAS_SUBJECT:
        source = subject if subject.strip() else (BUILT_IN_BUNDLE_SUBJECT if context.get("bundle")
                                                  else BUILT_IN_SUBJECT)
        rendered_subject = _one_line(_run(source, context, field="subject"))
    text = _run(body, context).strip()
    html, segments = "", 0
    if channel == EMAIL:
        inner = _run(body, context, html=True).strip()
        html = ('<!doctype html>\n<html><body style="font-family: sans-serif; color: #1b1f24">'
                f'<div style="white-space: pre-wrap">{inner}</div></body></html>\n')
    elif channel == VOICE:
        text = _without_urls(text)
    elif channel == SMS:
        segments = sms_segments(text)
        if segments > budget:
            raise TemplateProblem(f"the message needs {segments} SMS segments; at most {budget} "
                                  f"{'is' if budget == 1 else 'are'} allowed", "body")
    if not text:
        raise TemplateProblem("the template renders to an empty message")
    return Rendered(subject=rendered_subject, text=text, html=html, segments=segments, template=CUSTOM)


def _with_fallback(channel, custom, budget, context):
    problem = ""
    if custom is not None:
        subject, body = custom
        try:
            return _render_custom(channel, subject or "", body or "", budget, context)
        except TemplateProblem as exc:
            problem = f"{exc.field}: {exc}"
        except Exception as exc:  # noqa: BLE001  (never raise from rendering)
            problem = f"body: {_describe(exc)}"
    try:
        rendered = _built_in(channel, context, budget)
    except Exception:  # noqa: BLE001
        return _last_resort(channel, context)
    return replace(rendered, problem=problem) if problem else rendered


class Templates:
    """The administrators' templates, read once for many messages (a sending run renders hundreds)."""

    def __init__(self):
        try:
            self.rows, self.problem = {(t.channel, t.urgency): t for t in MessageTemplate.objects.all()}, ""
        except Exception:  # noqa: BLE001  (a message still goes out with the built-in template)
            self.rows, self.problem = {}, "the custom template could not be read"

    def get(self, channel, urgency):
        return self.rows.get((channel, urgency))


def render(channel, urgency, context, templates=None):
    """The message for `channel` and `urgency`: the administrator's template if there is one and it
    works, else the built-in one (with `problem` saying why). Never raises."""
    templates = templates or Templates()
    custom, budget, problem = None, DEFAULT_SMS_SEGMENTS, templates.problem
    template = templates.get(channel, urgency)
    if template is not None:
        custom, budget = (template.subject, template.body), template.sms_segments or DEFAULT_SMS_SEGMENTS
    if channel not in CHANNEL_NAMES:  # a caller's slip: plain text still says what happened
        channel, problem = WEBHOOK, f"unknown channel '{str(channel)[:20]}'"
    rendered = _with_fallback(channel, custom, budget, context)
    rendered = replace(rendered, problem=problem) if problem and not rendered.problem else rendered
    if rendered.problem:
        # Problems are about the template (syntax, names, limits); contexts never hold contact data.
        log.warning("message template %s/%s not used: %s", channel, urgency, rendered.problem[:300])
    return rendered


def preview(channel, subject, body, sms_segments=DEFAULT_SMS_SEGMENTS, context=None):
    """What a template being edited would send for the sample incident (or `context`)."""
    budget = sms_segments if sms_segments in SMS_SEGMENT_CHOICES else DEFAULT_SMS_SEGMENTS
    return _with_fallback(channel, (subject or "", body or ""), budget, context or sample_context())


def validate(channel, subject, body, sms_segments=DEFAULT_SMS_SEGMENTS):
    """Problems of a template, by field ({} when it can be saved): syntax errors with their line,
    unknown variables and sandbox refusals (rendered against the sample), and an SMS over budget."""
    if channel not in CHANNEL_NAMES:
        return {"channel": f"Unknown channel '{str(channel)[:20]}'; use {', '.join(CHANNEL_NAMES)}."}
    subject = subject if isinstance(subject, str) else ""
    body = body if isinstance(body, str) else ""
    errors = {}
    if len(subject) > SUBJECT_LIMIT:
        errors["subject"] = f"At most {SUBJECT_LIMIT} characters."
    if not body.strip():
        errors["body"] = "Write the message; variables such as {{ incident.title }} are filled in."
    elif len(body) > BODY_LIMIT:
        errors["body"] = f"At most {BODY_LIMIT} characters."
    if channel == SMS and sms_segments not in SMS_SEGMENT_CHOICES:
        errors["sms_segments"] = "An SMS may take 1 or 2 segments."
    if errors:
        return errors
    try:
        _render_custom(channel, subject, body, sms_segments if channel == SMS else DEFAULT_SMS_SEGMENTS,
                       sample_context())
    except TemplateProblem as exc:
        message = str(exc)
        if exc.field == "body" and "SMS segments" in message:
            message = f"With the sample incident {message}. Shorten the text or allow 2 segments."
        errors[exc.field] = message[:1].upper() + message[1:]
    return errors
