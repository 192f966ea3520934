"""HR import pages: upload and preview, apply behind step-up, conflicts for stewards, and the people CSV export."""

import csv
import hmac
import io
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tocsin.core import crypto, mfa
from tocsin.core.permissions import ALL_TEAMS, require, teams_for
from tocsin.core.view_access import permission_required, principal

from . import hr_csv, hr_plan
from .forms_import import ImportUploadForm
from .hr_csv import HrCsvError
from .models import SyncConflict
from .selectors_sync import conflict_row, pending_conflicts, people_to_export, recent_runs
from .services import hr_import
from .views import actor, require_edit

# The uploaded file waits in the session between preview and apply: the step-up page returns
# with a GET, so the browser cannot post the file again. Encrypted, because the session table
# is not, and bounded by the body limit. Apply runs only if the hash posted with the preview's
# form is the held file's: what is applied is what the operator saw.
SESSION_KEY = "tocsin_hr_import"
PENDING_MINUTES = 30
LIST_LIMIT = 200
PER_PAGE = 50
RUNS_SHOWN = 20
# Cells a spreadsheet would run as a formula get a leading apostrophe. Phone columns hold E.164
# numbers ('+' and digits, as values.normalise stores them), which are left alone: a formula
# cannot be written in digits, and an apostrophe would make the number invalid on re-import.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PHONE_COLUMNS = {"mobile", "phone"}
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
KIND_LABELS = dict(SyncConflict.KINDS)


class _Unavailable(Exception):
    """The held upload cannot be applied; the message says why and what to do."""


# --- holding the upload between preview and apply -----------------------------------------


def _hold(request, name, source, data):
    request.session[SESSION_KEY] = {
        "name": name, "source": source, "sha256": hr_csv.checksum(data), "size": len(data), "at": time.time(),
        "data": crypto.encrypt(data.decode("utf-8")),  # parse() accepted it, so it is UTF-8
    }


def _drop(request):
    request.session.pop(SESSION_KEY, None)


def _held(request):
    """The held upload's description, or None; an expired one is dropped on the way."""
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict):
        return None
    if time.time() - held.get("at", 0) > PENDING_MINUTES * 60:
        _drop(request)
        return None
    return held


def _held_bytes(held):
    try:
        data = crypto.decrypt(held["data"]).encode("utf-8")
    except (ImproperlyConfigured, KeyError, TypeError, ValueError):  # decrypt's answer to an altered token
        raise _Unavailable("The held file cannot be read any more; upload it again.") from None
    if not hmac.compare_digest(hr_csv.checksum(data), held.get("sha256", "")):
        raise _Unavailable("The held file does not match its checksum; upload it again.")
    return data


# --- import page --------------------------------------------------------------------------


def _render(request, *, form=None, held=None, plan=None, problems=None, error="", status=200):
    reach = teams_for(principal(request), "contacts:write")
    context = {
        "form": form or ImportUploadForm(initial={"source": held["source"] if held else "hr"}),
        "held": held, "plan": plan, "problems": (problems or [])[:hr_csv.MAX_PROBLEMS],
        "more_problems": max(0, len(problems or []) - hr_csv.MAX_PROBLEMS), "error": error,
        "limit_kib": settings.TOCSIN_MAX_BODY_BYTES // 1024, "pending_minutes": PENDING_MINUTES,
        "list_limit": LIST_LIMIT, "pending_conflicts": pending_conflicts(reach).count() if reach else 0,
    }
    if plan is not None:
        context.update(_plan_context(plan))
    return render(request, "directory/import.html", context, status=status)


def _plan_context(plan):
    counts = plan.counts()
    return {
        "counts": counts,
        "creates": [
            {"line": c.row.line, "external_id": c.row.external_id, "name": c.row.name,
             "teams": ", ".join(t.slug for t in c.row.teams or ()), "site": c.row.site.slug if c.row.site else ""}
            for c in plan.creates[:LIST_LIMIT]
        ],
        "changes": [
            {"line": c.row.line, "external_id": c.row.external_id, "person": c.person, "link": c.link,
             "fields": [{"name": f.name, "old": hr_plan.show(f.name, f.old), "new": hr_plan.show(f.name, f.new)}
                        for f in c.fields]}
            for c in plan.changes[:LIST_LIMIT] if c.fields or c.link
        ],
        "deactivations": plan.deactivations[:LIST_LIMIT],
        "conflicts": [
            {"line": c.row.line, "external_id": c.row.external_id, "person": c.person, "field": c.name,
             "why": KIND_LABELS[c.kind], "local_source": c.local_source,
             "local": hr_plan.show(c.name, c.local), "hr": hr_plan.show(c.name, c.hr), "waiting": c.pending is not None}
            for c in plan.conflicts[:LIST_LIMIT]
        ],
        "more": {
            name: max(0, len(items) - LIST_LIMIT)
            for name, items in (("creates", plan.creates), ("changes", plan.changes),
                                ("deactivations", plan.deactivations), ("conflicts", plan.conflicts))
        },
        "mass_deactivation": plan.mass_deactivation,
        "active_people": plan.active_people,
        "last_sync": plan.last_sync,
    }


def _preview_held(request, held, *, error="", status=200):
    """The page with the held upload's preview, compared with the directory as it is now."""
    try:
        plan = hr_import.preview(_held_bytes(held), source=held["source"])
    except _Unavailable as exc:
        _drop(request)
        return _render(request, error=str(exc), status=400 if error else 200)
    except HrCsvError as exc:
        # Valid at upload, but the directory changed since (a team was deleted, say).
        return _render(request, held=held, problems=exc.problems, error=error, status=400)
    return _render(request, held=held, plan=plan, error=error, status=status)


@never_cache
@permission_required("contacts:write")
def import_page(request):
    """GET: the upload form, or the preview of the file held since the last upload. POST: upload and preview."""
    if request.method != "POST":
        held = _held(request)
        return _preview_held(request, held) if held else _render(request)
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form=form, status=400)
    upload, source = form.cleaned_data["file"], form.cleaned_data["source"]
    _drop(request)  # a new upload replaces the held one, whatever becomes of it
    try:
        plan = hr_import.preview(upload["data"], source=source)
    except HrCsvError as exc:
        return _render(request, form=form, problems=exc.problems, status=400)
    _hold(request, upload["name"], source, upload["data"])
    return _render(request, held=_held(request), plan=plan)


@require_POST
@permission_required("contacts:write")
@mfa.require_step_up
def import_apply(request):
    held = _held(request)
    if held is None:
        return _render(request, error=(
            f"No previewed file is waiting: it was applied or discarded, or was previewed more than "
            f"{PENDING_MINUTES} minutes ago. Upload it again."
        ), status=400)
    if not hmac.compare_digest(request.POST.get("sha256", ""), held.get("sha256", "")):
        return _preview_held(request, held, error=(
            "The file held for this session is not the one this form previewed (another upload replaced it). "
            "Check the preview below and apply again."
        ), status=409)
    try:
        data = _held_bytes(held)
        run, plan = hr_import.import_data(
            data, actor=actor(request), source=held["source"], via="csv",
            allow_mass_deactivation=request.POST.get("allow_mass_deactivation") == "1",
        )
    except _Unavailable as exc:
        _drop(request)
        return _render(request, error=str(exc), status=400)
    except HrCsvError as exc:
        return _render(request, held=held, problems=exc.problems, error="Nothing was written.", status=400)
    except hr_import.ImportRefused as exc:
        return _preview_held(request, held, error=f"Refused, nothing was written: {exc}.", status=400)
    except ValidationError as exc:
        return _preview_held(request, held, error=f"Import failed, nothing was written: {' '.join(exc.messages)}",
                             status=400)
    _drop(request)
    summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in run.counts.items() if v or k == "rows")
    waiting = f" {len(plan.conflicts)} conflict(s) wait for a steward." if plan.conflicts else ""
    messages.success(request, f"Import #{run.pk} from '{run.source}' applied: {summary}.{waiting}")
    if plan.conflicts:
        return redirect("directory-import-conflicts")
    return redirect("directory-import")


@require_POST
@permission_required("contacts:write")
def import_discard(request):
    _drop(request)
    messages.success(request, "The previewed file is discarded; nothing was written.")
    return redirect("directory-import")


# --- conflicts ----------------------------------------------------------------------------


def _write_reach(request):
    """The teams (or ALL_TEAMS) whose people the user may change; refuses, audited, when none."""
    who = principal(request)
    reach = teams_for(who, "contacts:write")
    if not reach:
        require(who, "contacts:write", target=request.path[:200])
    return reach


@never_cache
@require_GET
@login_required
def conflicts(request):
    reach = _write_reach(request)
    page = Paginator(pending_conflicts(reach), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page, "rows": [conflict_row(c) for c in page],
        "runs": recent_runs()[:RUNS_SHOWN], "may_import": reach == ALL_TEAMS,
    }
    return render(request, "directory/conflicts.html", context)


@require_POST
@login_required
def conflict_resolve(request, conflict_id):
    conflict = get_object_or_404(SyncConflict.objects.select_related("person"), pk=conflict_id)
    require_edit(request, conflict.person)  # before step-up: nobody is asked for a code only to be refused
    return _resolve(request, conflict)


@mfa.require_step_up
def _resolve(request, conflict):
    try:
        conflict = hr_import.resolve_conflict(conflict, request.POST.get("choice", ""), actor=actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{conflict.person.name}, {conflict.field}: {conflict.get_status_display().lower()}.")
    return redirect("directory-import-conflicts")


# --- export -------------------------------------------------------------------------------


def _cell(column, value):
    text = str(value)
    if column in PHONE_COLUMNS and E164.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@never_cache
@require_GET
@login_required
def people_export(request):
    """The people the user may export, in clear, as a CSV that `import-people` reads back."""
    who = principal(request)
    reach = teams_for(who, "contacts:export")
    if not reach:
        require(who, "contacts:export", target=request.path[:200])  # raises and audits the refusal
    source = request.GET.get("source", "hr").strip()
    if source:
        try:
            source = hr_plan.check_source(source)
        except HrCsvError as exc:
            return HttpResponse(f"Invalid source: {exc.problems[0].message}.", status=400, content_type="text/plain")
    rows = hr_import.export_people(people_to_export(reach), actor=actor(request), source=source)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = rows[0]
    writer.writerow(header)
    for row in rows[1:]:
        writer.writerow([_cell(column, value) for column, value in zip(header, row, strict=True)])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tocsin-people-{timezone.now():%Y%m%d}.csv"'
    return response
