"""HTML forms of the schedule pages. They parse what people type (names, "Mon-Fri 09:00-17:00",
wall-clock times in the schedule's zone); the services validate and write."""

import re
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count

from tocsin.core.models import Team
from tocsin.core.schemas import MAX_ID
from tocsin.core.timezones import zone
from tocsin.directory.models import OrgRole, Person

from .models import Layer
from .rotation import DAY_NAMES
from .schemas import MAX_LEVEL
from .wallclock import to_utc

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
ROLE_PREFIX = "role:"
_NAME_WITH_ID = re.compile(r"^(?P<name>.*?)\s*#(?P<id>[0-9]+)$")
_OBJECT_ID = re.compile(r"[0-9]{1,18}")
# 200 participants of at most "Role: " or a 200-character name with " #id", one per line.
MAX_PARTICIPANT_TEXT = 50_000
MAX_RESTRICTION_TEXT = 4_000  # 50 windows such as "Mon-Fri 09:00-17:00"
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_FULL_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WINDOW_LINE = re.compile(r"^(?P<days>.+?)\s+(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})$")


# --- names of people and roles ---------------------------------------------------------

def object_id(text):
    """`text` as a database id, or None. Only ASCII digits count ("²".isdigit() is true, yet int()
    refuses it), and only as many as the database's bigint holds (a longer one overflows SQLite,
    and int() refuses 4,300 digits and more)."""
    if not isinstance(text, str) or not _OBJECT_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def person_label(person, duplicated=frozenset()):
    """How a person is written in a form: their name, with '#id' when another has the same name."""
    return f"{person.name} #{person.pk}" if person.name in duplicated else person.name


def resolve_names(lines, *, roles=True):
    """People (and, if `roles`, organisational roles) for names typed one per line, in order.
    Raises a ValidationError naming every line that names nobody or more than one."""
    wanted = []
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        if roles and text.lower().startswith(ROLE_PREFIX):
            wanted.append(("role", text[len(ROLE_PREFIX):].strip(), None, text))
            continue
        match = _NAME_WITH_ID.match(text)
        if match:
            ident = object_id(match["id"])
            # An id no row can have names nobody; it is reported with the other unknown lines.
            wanted.append(("person", match["name"], ident, text) if ident else ("nobody", text, None, text))
        else:
            wanted.append(("any", text, None, text))
    names = {name for kind, name, _, _ in wanted if kind != "nobody"}
    ids = {ident for _, _, ident, _ in wanted if ident}
    people = {}
    for person in Person.objects.filter(name__in=names) | Person.objects.filter(pk__in=ids):
        people.setdefault(person.name, []).append(person)
    by_id = {p.pk: p for found in people.values() for p in found}
    role_rows = {r.name: r for r in OrgRole.objects.filter(name__in=names)} if roles else {}
    found, unknown, problems = [], [], []
    for kind, name, ident, text in wanted:
        if kind == "nobody":
            unknown.append(text)
            continue
        if ident is not None:
            person = by_id.get(ident)
            if person is None or person.name != name:
                unknown.append(text)
                continue
            candidates = [person]
        elif kind == "role":
            if name not in role_rows:
                unknown.append(text)
            else:
                found.append(role_rows[name])
            continue
        else:
            candidates = people.get(name, [])
        active = [p for p in candidates if p.is_active]
        if len(active) == 1:
            found.append(active[0])
        elif len(active) > 1:
            problems.append(f"'{name}' names {len(active)} people: write it as "
                            + " or ".join(f"'{p.name} #{p.pk}'" for p in active) + ".")
        elif candidates:
            problems.append(f"{name} is deactivated.")
        elif kind == "any" and name in role_rows:
            found.append(role_rows[name])
        else:
            unknown.append(text)
    if unknown:
        what = "people or roles" if roles else "people"
        problems.insert(0, f"Unknown {what}: " + ", ".join(f"'{u}'" for u in unknown) + ".")
    if problems:
        raise ValidationError(" ".join(problems))
    return found


def participant_lines(layer):
    """The participants of `layer` written as the form expects them back."""
    slots = list(layer.participants.select_related("person", "role"))
    names = [s.person.name for s in slots if s.person_id]
    same = set(Person.objects.filter(name__in=names, is_active=True).values("name").annotate(n=Count("pk"))
               .filter(n__gt=1).values_list("name", flat=True))
    return "\n".join(person_label(s.person, same) if s.person_id else f"Role: {s.role.name}" for s in slots)


class PersonNameField(forms.CharField):
    """One active person, typed by name (or 'Name #id' where names repeat)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        return resolve_names([value], roles=False)[0]


# --- restrictions as "Mon-Fri 09:00-17:00" ---------------------------------------------

def _day(token, line):
    key = token.strip().lower()
    if key in _DAY_INDEX:
        return _DAY_INDEX[key]
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    raise ValidationError(f"Line {line}: '{token.strip()}' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun.")


def _days(text, line):
    if text.strip().lower() in ("daily", "every day", "mon-sun"):
        return list(range(7))
    days = []
    for part in text.split(","):
        if not part.strip():
            raise ValidationError(f"Line {line}: an empty day between commas.")
        first, dash, last = part.partition("-")
        begin = _day(first, line)
        if not dash:
            days.append(begin)
            continue
        end = _day(last, line)
        span = (end - begin) % 7  # Fri-Mon wraps over the weekend
        days.extend((begin + i) % 7 for i in range(span + 1))
    return sorted(set(days))


def _clock(text, line):
    hours, minutes = (int(x) for x in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValidationError(f"Line {line}: '{text}' is not a time of day as HH:MM.")
    return f"{hours:02d}:{minutes:02d}"


def parse_windows(text):
    """'Mon-Fri 09:00-17:00' lines as restriction windows; a precise error names the line."""
    windows = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _WINDOW_LINE.match(line)
        if not match:
            raise ValidationError(f"Line {number}: '{line}' should read like 'Mon-Fri 09:00-17:00'.")
        windows.append({"days": _days(match["days"], number), "start": _clock(match["start"], number),
                        "end": _clock(match["end"], number)})
    return windows


def _day_ranges(days):
    days = sorted(days)
    if days == list(range(7)):
        return "Daily"
    runs, start = [], None
    for i, day in enumerate(days):
        if start is None:
            start = day
        if i + 1 == len(days) or days[i + 1] != day + 1:
            runs.append(DAY_NAMES[start] if start == day else f"{DAY_NAMES[start]}-{DAY_NAMES[day]}")
            start = None
    return ",".join(runs)


def window_lines(restrictions):
    return "\n".join(f"{_day_ranges(w['days'])} {w['start']}-{w['end']}" for w in restrictions or [])


# --- wall-clock times in the schedule's zone ---------------------------------------------

class LocalDateTimeField(forms.CharField):
    """A datetime-local input read as a naive wall-clock time; the form converts it to UTC
    in the schedule's zone with the DST rules of wallclock.to_utc."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"'{value}' is not a date and time as YYYY-MM-DDTHH:MM.") from None
        if parsed.tzinfo is not None:
            raise ValidationError("Give the local time of the schedule's zone, without an offset.")
        return parsed


def local_input(instant, tz):
    """An aware instant as the value of a datetime-local input in `tz`."""
    return instant.astimezone(tz).strftime(LOCAL_FORMAT) if instant else ""


# --- the forms -----------------------------------------------------------------------------

class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=120)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="No team (admins only)")
    time_zone = forms.CharField(max_length=64, initial="UTC", label="Time zone",
                                help_text="An IANA zone such as Europe/Berlin; handoffs keep local time across DST.",
                                widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}))
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, teams, team_required, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].required = team_required
        if team_required:
            self.fields["team"].empty_label = None

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        zone(name)  # its ValidationError names the unknown zone
        return name


class LayerForm(forms.Form):
    name = forms.CharField(max_length=120)
    level = forms.IntegerField(min_value=1, max_value=MAX_LEVEL, required=False,
                               help_text="Higher levels override lower ones; empty: above the others.")
    rotation = forms.ChoiceField(choices=[c for c in Layer.ROTATIONS if c[0] != Layer.CALENDAR],
                                 initial=Layer.WEEKLY)
    length = forms.IntegerField(min_value=1, max_value=9000, initial=1, required=False,
                                help_text="For custom rotations")
    unit = forms.ChoiceField(choices=Layer.UNITS, initial=Layer.DAYS, required=False, help_text="For custom rotations")
    handoff_time = forms.TimeField(initial="09:00", label="Handoff time",
                                   widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    start_date = forms.DateField(label="Start date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_date = forms.DateField(label="End date", required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    shift_size = forms.IntegerField(min_value=1, max_value=200, initial=1, label="Shift size",
                                    help_text="How many participants are on call at once")
    participants = forms.CharField(
        max_length=MAX_PARTICIPANT_TEXT, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line, in rotation order: a person's name, or 'Role: ' and an organisational role.",
    )
    restrictions = forms.CharField(
        max_length=MAX_RESTRICTION_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional, one window per line, such as 'Mon-Fri 09:00-17:00' or 'Sat,Sun 00:00-00:00'.",
    )

    @classmethod
    def initial_for(cls, layer):
        return {
            "name": layer.name, "level": layer.level, "rotation": layer.rotation, "length": layer.length,
            "unit": layer.unit, "handoff_time": layer.handoff_time, "start_date": layer.start_date,
            "end_date": layer.end_date, "shift_size": layer.shift_size,
            "participants": participant_lines(layer), "restrictions": window_lines(layer.restrictions),
        }

    def clean_participants(self):
        return resolve_names(self.cleaned_data["participants"].splitlines())

    def clean_restrictions(self):
        return parse_windows(self.cleaned_data["restrictions"])

    def clean(self):
        data = super().clean()
        if data.get("rotation") == Layer.CUSTOM and not data.get("length"):
            self.add_error("length", "A custom rotation needs a shift length.")
        # Daily and weekly rotations ignore these; keep the model's defaults when left empty.
        data["length"] = data.get("length") or 1
        data["unit"] = data.get("unit") or Layer.DAYS
        return data

    def changes(self):
        data = dict(self.cleaned_data)
        if data["level"] is None:
            data.pop("level")
        return data


class OverrideForm(forms.Form):
    person = PersonNameField(max_length=220, help_text="Who is on call instead",
                             widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"}))
    replaces = PersonNameField(max_length=220, required=False, label="In place of",
                               help_text="Empty: in place of everyone on the schedule",
                               widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"}))
    starts_at = LocalDateTimeField(label="Start")
    ends_at = LocalDateTimeField(label="End")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, tz, **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        to_utc_fields(self, data, "starts_at", "ends_at")
        return data


def to_utc_fields(form, data, start_name, end_name):
    """Turn the two wall-clock fields into UTC instants; an end not after the start is an error."""
    for name in (start_name, end_name):
        if data.get(name) is not None:
            data[name] = to_utc(data[name], form.tz)
    if data.get(start_name) and data.get(end_name) and data[end_name] <= data[start_name]:
        form.add_error(end_name, "The end must be after the start.")


class SwapForm(forms.Form):
    requester = PersonNameField(max_length=220, label="Whose shift",
                                widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"}))
    starts_at = LocalDateTimeField(label="From")
    ends_at = LocalDateTimeField(label="Until")
    counterpart = PersonNameField(max_length=220, label="Hand it to",
                                  widget=forms.TextInput(attrs={"list": "people", "autocomplete": "off"}))
    give_back = forms.ChoiceField(required=False, label="Take this shift in return",
                                  help_text="Optional: one of their shifts in the next four weeks")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, tz, return_choices=(), **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)
        self.fields["give_back"].choices = [("", "Nothing: just hand the shift over"), *return_choices]

    def clean(self):
        data = super().clean()
        to_utc_fields(self, data, "starts_at", "ends_at")
        data["return_starts_at"] = data["return_ends_at"] = None
        if data.get("give_back"):
            begin, _, end = data["give_back"].partition("/")
            data["return_starts_at"] = datetime.fromisoformat(begin)
            data["return_ends_at"] = datetime.fromisoformat(end)
        return data
