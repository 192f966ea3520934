"""Breach protocol pages (A8): record a suspected breach, see whom it touched, meet the obligations."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import permission_required

from .breach_scope import affected
from .models_breach import BreachObligation, SuspectedBreach
from .services import breaches
from .views import actor


class BreachForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    window_start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC")
    window_end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="UTC")
    suspect_actor = forms.CharField(max_length=150, required=False, help_text="Username, if known")


@permission_required("breach:manage")
def breach_list(request):
    form = BreachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breach = breaches.open_breach(actor=actor(request), opened_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Breach recorded; the notification deadlines are running.")
            return redirect("directory-breach", breach_id=breach.pk)
    listing = SuspectedBreach.objects.prefetch_related("obligations")[:100]
    return render(request, "directory/breaches.html", {"form": form, "breaches": listing}, status=400 if form.errors else 200)


@permission_required("breach:manage")
def breach_detail(request, breach_id):
    breach = get_object_or_404(SuspectedBreach, pk=breach_id)
    scope = affected(breach)
    breaches.record_scope_view(breach, actor=actor(request), people=len(scope.people))
    return render(
        request, "directory/breach.html",
        {"breach": breach, "scope": scope, "obligations": breach.obligations.select_related("done_by")},
    )


@require_POST
@permission_required("breach:manage")
def obligation_done(request, breach_id, obligation_id):
    obligation = get_object_or_404(BreachObligation, pk=obligation_id, breach_id=breach_id)
    try:
        breaches.complete_obligation(obligation, actor=actor(request), done_by=request.user, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("directory-breach", breach_id=breach_id)
