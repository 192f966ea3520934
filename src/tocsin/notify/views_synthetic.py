"""The synthetic checks page (administrators): the checks with their state and recent runs, adding
one, switching one on or off; and the TwiML a synthetic call hears."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from twilio.twiml.voice_response import VoiceResponse

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import mask

from . import synthetic
from .models import CHANNELS, Provider, SyntheticCheck, SyntheticRun
from .views_twilio import signed

PERMISSION = "settings:manage"
RECENT_RUNS = 50


class CheckForm(forms.Form):
    name = forms.CharField(max_length=120)
    channel = forms.ChoiceField(choices=CHANNELS)
    provider = forms.ModelChoiceField(queryset=Provider.objects.all(), required=False,
                                      empty_label="Whichever the channel would use")
    method = forms.IntegerField(min_value=1, label="Test contact method (id)")
    interval_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=60)
    deadline_seconds = forms.IntegerField(min_value=10, max_value=24 * 3600, initial=120)

    def clean_method(self):
        method = ContactMethod.objects.filter(pk=self.cleaned_data["method"]).first()
        if method is None:
            raise ValidationError("No contact method has this id.")
        return method


def _page(request, form, status=200):
    checks = list(SyntheticCheck.objects.select_related("provider", "method"))
    runs = list(SyntheticRun.objects.select_related("synthetic")[:RECENT_RUNS])
    last = {}
    for run in runs:
        last.setdefault(run.synthetic_id, run)
    rows = [{"check": c, "destination": mask(c.method.kind, c.method.value), "last": last.get(c.pk)} for c in checks]
    return render(request, "notify/synthetic.html", {"rows": rows, "runs": runs, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(PERMISSION)
def checks(request):
    if request.method == "GET":
        return _page(request, CheckForm())
    form = CheckForm(request.POST)
    if form.is_valid():
        try:
            synthetic.add_check(actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The synthetic check is added; it runs within a minute.")
            return redirect("notify-synthetic")
    return _page(request, form, status=400)


@require_POST
@permission_required(PERMISSION)
def toggle(request, check_id):
    check = SyntheticCheck.objects.filter(pk=check_id).first()
    if check is None:
        raise Http404("No such synthetic check.")
    synthetic.set_enabled(check, not check.enabled, actor=actor(request))
    messages.success(request, f"{check.name} is {'on' if check.enabled else 'off'}.")
    return redirect("notify-synthetic")


@require_http_methods(["GET", "POST"])
@signed
def voice(request, run_id):
    run = SyntheticRun.objects.filter(pk=run_id).select_related("synthetic").first()
    response = VoiceResponse()
    if run is not None:
        response.say(synthetic.text_of(run.synthetic))
    response.hangup()
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")
