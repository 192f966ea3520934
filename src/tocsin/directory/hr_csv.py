"""Read an HR/IdP export (CSV) into validated rows, or a complete list of what is wrong with it.

The file is UTF-8 (a byte-order mark is accepted) with a header row; comma, semicolon and tab
separate cells (the header decides). Column names are case-insensitive; order does not matter.

    external_id  required; the person's id in the source, unique within the file
    name         required; full name, 1 to 200 characters
    email        work e-mail address
    mobile       mobile number (SMS), international form such as +49 170 1234567
    phone        voice number, international form
    team         team slug or name; several separated by ';'
    site         site slug or name
    time_zone    IANA zone such as Europe/Berlin
    active       true/false, 1/0 or yes/no; empty means true
    manager      accepted and ignored

An empty cell leaves the field as it is: an import never erases data because a cell is blank.
Any invalid row rejects the whole file (see `HrCsvError`); nothing is imported in part.
Problem messages name line and column but never repeat contact values, so they may be logged.
"""

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

from tocsin.core.models import Team

from .models import Site
from .values import normalise

MAX_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS = 200
REQUIRED = ("external_id", "name")
OPTIONAL = ("email", "mobile", "phone", "team", "site", "time_zone", "active", "manager")
COLUMNS = REQUIRED + OPTIONAL
METHOD_COLUMNS = {"email": "email", "mobile": "sms", "phone": "voice"}
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}
_HINTS = {
    "email": "not a valid e-mail address",
    "mobile": "not a valid phone number; use the international form, such as +49 170 1234567",
    "phone": "not a valid phone number; use the international form, such as +49 30 1234567",
}


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    message: str

    def __str__(self):
        where = [f"line {self.line}"] if self.line else []
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class HrCsvError(Exception):
    """The file cannot be imported; `problems` lists every reason found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self, limit=MAX_PROBLEMS):
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problem(s)")
        return "\n".join(lines)


@dataclass
class Row:
    line: int
    external_id: str
    name: str
    email: str = ""
    mobile: str = ""
    phone: str = ""
    teams: tuple | None = None  # Team objects; None: the cell was empty
    site: Site | None = None
    time_zone: str = ""
    active: bool = True

    def method(self, field):
        return getattr(self, field)


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path, max_bytes=MAX_BYTES):
    """The file's bytes, refusing files that are missing or too large before reading them."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise HrCsvError([Problem(None, None, f"the file has {size} bytes; at most {max_bytes} are accepted")])
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)  # a file still growing is caught by parse's own check
    except OSError as exc:
        raise HrCsvError([Problem(None, None, f"cannot read the file: {exc.strerror or exc}")]) from None


def parse(data: bytes, max_bytes=MAX_BYTES):
    """Validated rows of an export, or HrCsvError listing every problem found."""
    if len(data) > max_bytes:
        raise HrCsvError([Problem(None, None, f"the file has {len(data)} bytes; at most {max_bytes} are accepted")])
    text = _decode(data)
    reader, header = _header(text)
    problems, rows, seen = [], [], {}
    lookup = _Lookup()
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(Problem(start, None, f"{len(cells)} cell(s), but the header has {len(header)}"))
            continue
        values = dict(zip(header, cells, strict=True))
        row = _row(start, values, lookup, problems)
        if row is not None:
            rows.append(row)
        if values["external_id"].strip():
            seen.setdefault(values["external_id"].strip(), []).append(start)
    for external_id, lines in seen.items():
        if len(lines) > 1:
            problems.append(Problem(
                lines[0], "external_id",
                f"external_id '{external_id}' appears more than once, on lines {', '.join(map(str, lines))}",
            ))
    if not rows and not problems:
        problems.append(Problem(None, None, "the file has a header but no rows"))
    if problems:
        raise HrCsvError(sorted(problems, key=lambda p: (p.line or 0, p.column or "")))
    return rows


def _decode(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise HrCsvError([Problem(
            line, None,
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} cannot be decoded); "
            "export or save it as UTF-8, with or without a byte-order mark",
        )]) from None


def _header(text):
    first = text.split("\n", 1)[0]
    # Spreadsheets in many locales export with ';' or tabs; the header's separator decides.
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        raw = next(reader, None)
    except csv.Error as exc:
        raise HrCsvError([Problem(1, None, f"the header is not valid CSV ({exc})")]) from None
    if not raw or not any(cell.strip() for cell in raw):
        raise HrCsvError([Problem(1, None, f"the header row is missing; expected columns: {', '.join(COLUMNS)}")])
    header = [cell.strip().lower().replace(" ", "_") for cell in raw]
    problems = []
    unknown = [cell.strip() for cell, name in zip(raw, header, strict=True) if name not in COLUMNS]
    if unknown:
        problems.append(Problem(1, None, f"unknown column(s): {', '.join(unknown)}; known: {', '.join(COLUMNS)}"))
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        problems.append(Problem(1, None, f"missing required column(s): {', '.join(missing)}"))
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        problems.append(Problem(1, None, f"column(s) appear more than once: {', '.join(doubled)}"))
    if problems:
        raise HrCsvError(problems)
    return _Guarded(reader), header


class _Guarded:
    """A csv reader that turns malformed quoting into a problem rather than an exception."""

    def __init__(self, reader):
        self.reader = reader

    @property
    def line_num(self):
        return self.reader.line_num

    def __iter__(self):
        while True:
            try:
                yield next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise HrCsvError([Problem(self.reader.line_num, None, f"not valid CSV ({exc})")]) from None


class _Lookup:
    """Teams and sites by slug or (case-insensitive) name, loaded once per file."""

    def __init__(self):
        self.teams = _index(Team.objects.all())
        self.sites = _index(Site.objects.all())


def _index(queryset):
    found = {}
    for obj in queryset:
        found.setdefault(obj.name.strip().lower(), obj)
        found[obj.slug.lower()] = obj
    return found


def _row(line, cells, lookup, problems):
    values = {name: (cells.get(name) or "").strip() for name in COLUMNS}
    before = len(problems)

    def problem(column, message):
        problems.append(Problem(line, column, message))

    external_id, name = values["external_id"], values["name"]
    if not external_id:
        problem("external_id", "an external_id is required")
    elif len(external_id) > 200:
        problem("external_id", "at most 200 characters")
    if not name:
        problem("name", "a name is required")
    elif len(name) > 200:
        problem("name", "at most 200 characters")
    methods = {}
    for column, kind in METHOD_COLUMNS.items():
        if values[column]:
            try:
                methods[column] = normalise(kind, values[column])
            except ValidationError:
                problem(column, _HINTS[column])
    teams = None
    if values["team"]:
        teams, unknown = [], []
        for part in (p.strip() for p in values["team"].split(";")):
            if part:
                team = lookup.teams.get(part.lower())
                (teams.append(team) if team else unknown.append(part))
        for part in unknown:
            problem("team", f"unknown team '{part}'; use a team's slug or name")
        teams = tuple(sorted(set(teams), key=lambda t: t.slug))
    site = None
    if values["site"]:
        site = lookup.sites.get(values["site"].lower())
        if site is None:
            problem("site", f"unknown site '{values['site']}'; use a site's slug or name")
    if values["time_zone"]:
        try:
            ZoneInfo(values["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):
            problem("time_zone", f"'{values['time_zone']}' is not a known time zone, such as Europe/Berlin")
    active = True
    if values["active"]:
        flag = values["active"].lower()
        if flag not in _TRUE | _FALSE:
            problem("active", "use true/false, 1/0 or yes/no")
        active = flag in _TRUE
    if len(problems) > before:
        return None
    return Row(
        line=line, external_id=external_id, name=name, teams=teams, site=site,
        time_zone=values["time_zone"], active=active, **methods,
    )
