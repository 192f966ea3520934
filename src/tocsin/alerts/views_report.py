"""The outage report page (E8): anyone signed in tells Tocsin a service is down."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from tocsin.catalog.models import Service
from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required
from tocsin.incidents.services.lifecycle import MAX_DETAILS, MAX_TITLE

from .models import Alert
from .services_reports import report_outage

# A page lists a bounded number of services; the queryset still accepts any of them.
CHOICE_LIMIT = 1000


class ReportForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.all(), help_text="The service that is not working")
    summary = forms.CharField(max_length=MAX_TITLE, help_text="What is wrong, in a few words")
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=MAX_DETAILS,
                              help_text="What you see, since when, who is affected")
    severity = forms.ChoiceField(choices=Alert.SEVERITIES, initial=Alert.ERROR,
                                 help_text="Critical and error page at once; warning and info are low urgency")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        services = Service.objects.order_by("name").values_list("pk", "name")[:CHOICE_LIMIT]
        self.fields["service"].widget.choices = [("", "---------"), *services]


# Every role may read the catalogue, so every signed-in member of staff may report.
@permission_required("catalog:read")
def report(request):
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            alert = report_outage(data["service"], data["summary"], actor=actor(request), details=data["details"],
                                  severity=data["severity"], via="web")
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            others = alert.occurrences - 1
            also = f" {others} other report(s) of this outage came before yours." if others else ""
            messages.success(request, f"Thank you: your report on {data['service'].name} is recorded.{also}")
            return redirect("alert-report")
    return render(request, "alerts/report.html", {"form": form}, status=400 if form.errors else 200)
