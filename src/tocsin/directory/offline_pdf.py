"""The printable "sealed envelope" (B12): a cover sheet with a SHA-256 manifest, then the call tree."""

import logging
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from . import offline

# fontTools logs each subset's glyph list at INFO: noise, and it spells out the letters of the names printed.
logging.getLogger("fontTools").setLevel(logging.WARNING)

_USAGE_NOTE = {"emergency_only": "emergencies only"}
# Fonts a Debian host may have for scripts DejaVu lacks (CJK, for one); used only when present.
_FALLBACK_FONTS = [
    ("NotoCJK", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    ("DroidFallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
]


def _font_dir():
    # matplotlib ships DejaVu as package data, so every install has a Unicode font without system packages.
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _Envelope(FPDF):
    def __init__(self, digest, scope_label):
        super().__init__(format="A4")
        self.digest, self.scope_label = digest, scope_label
        fonts = _font_dir()
        self.add_font("Sans", "", fonts / "DejaVuSans.ttf")
        self.add_font("Sans", "B", fonts / "DejaVuSans-Bold.ttf")
        self.add_font("Mono", "", fonts / "DejaVuSansMono.ttf")
        fallbacks = []
        for family, path in _FALLBACK_FONTS:
            if os.path.exists(path):
                self.add_font(family, "", path)
                fallbacks.append(family)
        if fallbacks:
            self.set_fallback_fonts(fallbacks, exact_match=False)
        self.set_auto_page_break(True, margin=18)
        self.set_margins(16, 16, 16)

    def footer(self):
        self.set_y(-13)
        self.set_font("Sans", "", 7)
        self.set_text_color(90)
        self.cell(0, 5, f"CONFIDENTIAL · {self.scope_label} · manifest {self.digest[:16]}… · page {self.page_no()}/{{nb}}",
                  align="C")
        self.set_text_color(0)

    def line_of(self, text, size=10, style="", height=None, family="Sans", indent=0):
        self.set_font(family, style, size)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, height or size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def heading(self, text, size=13):
        if self.get_y() > self.h - 50:
            self.add_page()
        self.ln(2)
        self.line_of(text, size=size, style="B")
        self.ln(1)


def _zones(data):
    if data["scope"]["kind"] == "site":
        zones = [g["site"]["time_zone"] for g in data["groups"] if g["site"]] or []
    else:
        zones = sorted({g["site"]["time_zone"] for g in data["groups"] if g["site"]})
    unique = []
    for zone in zones:
        if zone not in unique and zone != "UTC":
            unique.append(zone)
    return unique[:6]


def _method_line(number, method):
    notes = [note for note in (method["label"], method["availability"], _USAGE_NOTE.get(method["usage"], "")) if note]
    suffix = f"  ({', '.join(notes)})" if notes else ""
    return f"{number}. {method['kind_label']}: {method['value']}{suffix}"


def _person_block(pdf, name, methods, extra="", indent=4):
    pdf.line_of(name + (f" — {extra}" if extra else ""), size=10, style="B", indent=indent)
    if not methods:
        pdf.line_of("no contact method on record", size=9, indent=indent + 5)
    for number, method in enumerate(methods, 1):
        pdf.line_of(_method_line(number, method), size=9, indent=indent + 5)


def _role_block(pdf, role):
    title = f"Level {role['level']} — {role['role']}" if role["level"] is not None else role["role"]
    pdf.heading(title, size=12)
    facts = [f"Hours: {role['hours'] or 'not stated'}", f"Response: {role['response_commitment'] or 'not stated'}"]
    if role["team"]:
        facts.append(f"Team: {role['team']}")
    pdf.line_of(" · ".join(facts), size=9)
    if not role["holders"]:
        pdf.line_of("Nobody holds this role now.", size=9, style="B", indent=4)
    for holder in role["holders"]:
        extra = f"standing in for {', '.join(holder['stands_in_for'])}" if holder["stands_in_for"] else ""
        _person_block(pdf, holder["name"], holder["methods"], extra)
    if role["shared"]:
        pdf.line_of("Shared channels of the role:", size=9, style="B", indent=4)
        for number, method in enumerate(role["shared"], 1):
            pdf.line_of(_method_line(number, method), size=9, indent=9)


def render(data, digest=None):
    """The envelope for collected `data` as PDF bytes."""
    digest = digest or offline.content_digest(data)
    scope = data["scope"]
    scope_label = "Everyone" if scope["kind"] == "all" else f"{scope['kind'].title()}: {scope['name']}"
    generated = datetime.fromisoformat(data["generated_at"])

    pdf = _Envelope(digest, scope_label)
    pdf.set_title(f"Tocsin emergency contact list — {scope_label}")
    pdf.set_creator("Tocsin")
    pdf.set_creation_date(generated)
    pdf.add_page()

    pdf.line_of("SEALED ENVELOPE", size=20, style="B", height=12)
    pdf.line_of("Emergency contact list — open only when Tocsin cannot be reached.", size=11)
    pdf.line_of("It holds personal data: keep it sealed and locked away; destroy it when a newer one arrives.", size=9)
    pdf.ln(6)
    pdf.line_of(f"Scope: {scope_label}", size=12, style="B")
    pdf.line_of(f"Generated: {generated:%Y-%m-%d %H:%M} UTC", size=11)
    for zone in _zones(data):
        try:
            local = generated.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            continue
        pdf.line_of(f"           {local:%Y-%m-%d %H:%M} {zone} ({local:%Z})", size=11)
    counts = data["counts"]
    pdf.line_of(f"People: {counts['people']}", size=11)
    pdf.line_of(f"Call-tree levels: {counts['sheet_levels']} · roles: {counts['roles']} · "
                f"contact entries: {counts['method_entries']}", size=11)
    pdf.ln(6)
    pdf.line_of("SHA-256 manifest of the call-tree content", size=11, style="B")
    pdf.line_of(digest, size=9, family="Mono", height=6)
    pdf.line_of("Compare it with the audit log entry of this export, or with a newer envelope: "
                "a different value means different content.", size=8)
    pdf.ln(8)
    pdf.line_of("Seal here · Signature and date: ____________________________", size=10)

    pdf.add_page()
    pdf.line_of("Call tree", size=16, style="B", height=9)
    pdf.line_of("Call the levels in order; try each person's methods in the order given.", size=9)
    if not data["call_tree"]:
        pdf.line_of("No role is on the emergency contact sheet for this scope.", size=10)
    for role in data["call_tree"]:
        _role_block(pdf, role)
    if data["other_roles"]:
        pdf.heading("Other roles", size=15)
        for role in data["other_roles"]:
            _role_block(pdf, role)

    pdf.heading("People", size=15)
    if not data["groups"]:
        pdf.line_of("Nobody in this scope.", size=10)
    for group in data["groups"]:
        parts = [group["site"]["name"] if group["site"] else "No site", group["team"]["name"] if group["team"] else "No team"]
        pdf.heading(" · ".join(parts), size=12)
        for person in group["people"]:
            extra = ", ".join(x for x in (person["organisation"], person["support_sla"]) if x)
            _person_block(pdf, person["name"], person["methods"], extra)
    return bytes(pdf.output())


def envelope(scope, at=None):
    """Collect and render: returns (pdf bytes, collected data, manifest digest)."""
    data = offline.collect(scope, at)
    digest = offline.content_digest(data)
    return render(data, digest), data, digest


def filename(scope, data):
    stamp = data["generated_at"][:19].replace("-", "").replace(":", "")
    return f"tocsin-envelope-{scope.file_stem}-{stamp}Z.pdf"
