"""Filtering and export of the audit log (CSV and JSON) for auditors."""

import csv
import io
import json

from django.http import StreamingHttpResponse
from ninja.errors import HttpError

from . import audit
from .models import AuditEntry
from .schemas import Schema, UtcDatetime

COLUMNS = [
    "seq", "at", "actor_type", "actor_id", "actor_label", "action",
    "object_type", "object_id", "summary", "ip", "request_id", "prev_hash", "hash",
]


class AuditFilter(Schema):
    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None

    def apply(self, queryset):
        if self.action:
            queryset = queryset.filter(action__startswith=self.action)
        if self.actor:
            queryset = queryset.filter(actor_label=self.actor)
        if self.object_type:
            queryset = queryset.filter(object_type=self.object_type)
        if self.since:
            queryset = queryset.filter(at__gte=self.since)
        if self.until:
            queryset = queryset.filter(at__lt=self.until)
        return queryset


def filters_from_query(query):
    """Filters from a page's query string; invalid values are dropped rather than failing the page."""
    values = {name: query.get(name) or None for name in ("action", "actor")}
    try:
        return AuditFilter(**values)
    except ValueError:
        return AuditFilter()


def _cell(value):
    """Spreadsheets run cells that start with these characters as formulas; quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_row(entry):
    return [_cell(value) for value in _row(entry)]


def _row(entry):
    return [
        entry.seq, entry.at.isoformat(), entry.actor_type, entry.actor_id, entry.actor_label, entry.action,
        entry.object_type, entry.object_id, json.dumps(entry.summary, sort_keys=True), entry.ip,
        entry.request_id, entry.prev_hash, entry.hash,
    ]


def _csv_lines(entries):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(_csv_row(entry))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _json_lines(entries):
    yield "["
    for index, entry in enumerate(entries):
        record = dict(zip(COLUMNS, _row(entry)))
        record["summary"] = entry.summary
        yield ("," if index else "") + json.dumps(record, sort_keys=True)
    yield "]"


def response(filters, fmt, *, actor):
    """Stream the filtered log; the export itself is audited first."""
    if fmt not in {"csv", "json"}:
        raise HttpError(400, f"Unknown format '{fmt}'; use 'csv' or 'json'.")
    audit.record(actor, "audit.exported", summary={"format": fmt, **filters.dict(exclude_none=True)})
    entries = filters.apply(AuditEntry.objects.order_by("seq")).iterator(chunk_size=1000)
    lines = _csv_lines(entries) if fmt == "csv" else _json_lines(entries)
    content_type = "text/csv" if fmt == "csv" else "application/json"
    result = StreamingHttpResponse(lines, content_type=content_type)
    result["Content-Disposition"] = f'attachment; filename="tocsin-audit.{fmt}"'
    return result
