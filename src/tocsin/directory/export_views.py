"""Download pages for the offline list: the sealed-envelope PDF and the age-encrypted archive."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tocsin.core import audit
from tocsin.core.models import Team
from tocsin.core.permissions import ALL_TEAMS, require, teams_for
from tocsin.core.view_access import principal

from . import offline, offline_age
from .models import Site

PERMISSION = "contacts:export"


class EncryptedExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(f, f.upper()) for f in offline.FORMATS], initial="json")
    passphrase = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=f"At least {offline_age.MIN_PASSPHRASE} characters. Tocsin does not keep it: without it the file is lost.",
    )
    passphrase_again = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        passphrase = cleaned.get("passphrase")
        if passphrase is not None:
            try:
                offline_age.check_passphrase(passphrase)
            except offline_age.PassphraseError as exc:
                self.add_error("passphrase", str(exc))
            else:
                if cleaned.get("passphrase_again") != passphrase:
                    self.add_error("passphrase_again", "The passphrases differ.")
        return cleaned


def _reach_or_deny(request):
    """The teams (or ALL_TEAMS) the user may export; refuses, with an audit entry, when none."""
    who = principal(request)
    reach = teams_for(who, PERMISSION)
    if not reach:
        require(who, PERMISSION, target=request.path[:200])  # raises and audits the refusal
    return who, reach


def _choices(reach):
    """(value, label) pairs of the scopes the user may export."""
    teams = Team.objects.order_by("name")
    if reach != ALL_TEAMS:
        return [(f"team:{t.slug}", f"Team {t.name}") for t in teams.filter(pk__in=reach)]
    choices = [("all", "Everyone")]
    choices += [(f"site:{s.slug}", f"Site {s.name}") for s in Site.objects.order_by("name")]
    choices += [(f"team:{t.slug}", f"Team {t.name}") for t in teams]
    return choices


def _scope(request, value):
    """The posted scope, after the permission check: a steward reaches only their teams;
    a site or everyone needs the permission everywhere."""
    who = principal(request)
    kind, _, slug = (value or "").partition(":")
    if kind == "team":
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise Http404("No such team.")
        require(who, PERMISSION, team=team, target=f"team:{slug}"[:200])
        return offline.Scope.of(team)
    if kind == "site":
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            raise Http404("No such site.")
        require(who, PERMISSION, target=f"site:{slug}"[:200])
        return offline.Scope.of(site)
    if kind == "all" and not slug:
        require(who, PERMISSION, target="all")
        return offline.Scope.everyone()
    raise Http404("Unknown export scope.")


def _page(request, reach, form=None, status=200):
    return render(
        request, "directory/exports.html",
        {"choices": _choices(reach), "form": form or EncryptedExportForm(),
         "chosen": request.POST.get("scope", "") if form is not None else ""},
        status=status,
    )


def _download(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
@never_cache
def exports(request):
    _, reach = _reach_or_deny(request)
    return _page(request, reach)


@require_POST
@login_required
@never_cache
def export_pdf(request):
    _reach_or_deny(request)
    scope = _scope(request, request.POST.get("scope"))
    from . import offline_pdf  # fpdf2 takes a third of a second to import: only when a PDF is asked for

    pdf, data, digest = offline_pdf.envelope(scope)
    offline.record_export(
        audit.Actor.from_request(request), scope, what="pdf", channel="web", fmt="pdf",
        counts_=data["counts"], sha256=digest,
    )
    return _download(pdf, "application/pdf", offline_pdf.filename(scope, data))


@require_POST
@login_required
@never_cache
def export_encrypted(request):
    _, reach = _reach_or_deny(request)
    form = EncryptedExportForm(request.POST)
    # The scope is checked before the passphrase so a refusal is audited whatever else was posted.
    scope = _scope(request, request.POST.get("scope"))
    if not form.is_valid():
        return _page(request, reach, form, status=400)
    ciphertext, manifest = offline_age.export(scope, form.cleaned_data["passphrase"], form.cleaned_data["format"])
    offline.record_export(
        audit.Actor.from_request(request), scope, what="encrypted", channel="web", fmt=form.cleaned_data["format"],
        counts_=manifest["counts"], sha256=manifest["payload"]["sha256"],
    )
    return _download(ciphertext, "application/octet-stream", offline_age.filename(scope, manifest))
