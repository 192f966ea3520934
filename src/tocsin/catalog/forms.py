"""HTML forms of the catalogue pages; the services validate values, these only parse input."""

from django import forms

from tocsin.core.models import Team
from tocsin.directory.models import Person, Region, Site

from .impact import CATEGORIES, HORIZONS, LEVELS
from .models import TIERS, Service

OWNER_CHOICE_LIMIT = 500
DURATION_HELP = "For example 30m, 4h or 2d"


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=Service.KINDS, initial=Service.TECHNICAL)
    owner_team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug", label="Owner team")
    owner = forms.ModelChoiceField(
        queryset=Person.objects.filter(is_active=True), required=False, label="Service owner",
        help_text="The accountable person",
    )
    tier = forms.TypedChoiceField(choices=TIERS, coerce=int, initial=3, label="Criticality")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, teams, service=None, **kwargs):
        if service is not None:
            kwargs.setdefault("initial", {
                "name": service.name, "kind": service.kind, "owner_team": service.owner_team.slug,
                "owner": service.owner_id, "tier": service.tier, "description": service.description,
                "sites": list(service.sites.all()),
            })
        super().__init__(*args, **kwargs)
        self.fields["owner_team"].queryset = teams
        # A page lists a bounded number of owners; the queryset still accepts any active person.
        people = Person.objects.filter(is_active=True, is_vendor=False).order_by("name", "pk")
        self.fields["owner"].widget.choices = [("", "---------")] + [
            (p.pk, p.name) for p in people[:OWNER_CHOICE_LIMIT]
        ]


class BiaForm(forms.Form):
    rto = forms.CharField(max_length=40, required=False, label="RTO", help_text=DURATION_HELP)
    rpo = forms.CharField(max_length=40, required=False, label="RPO", help_text=DURATION_HELP)
    mtpd = forms.CharField(max_length=40, required=False, label="MTPD", help_text=DURATION_HELP)
    data_sensitivity = forms.ChoiceField(choices=Service.SENSITIVITIES, label="Data sensitivity")

    def __init__(self, *args, service, **kwargs):
        from .durations import humanise

        grid = service.impact or {}
        initial = {
            "rto": humanise(service.rto_minutes) if service.rto_minutes is not None else "",
            "rpo": humanise(service.rpo_minutes) if service.rpo_minutes is not None else "",
            "mtpd": humanise(service.mtpd_minutes) if service.mtpd_minutes is not None else "",
            "data_sensitivity": service.data_sensitivity,
        }
        for category, _ in CATEGORIES:
            for horizon in HORIZONS:
                initial[self.cell(category, horizon)] = (grid.get(category) or {}).get(horizon, 0)
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for category, label in CATEGORIES:
            for horizon in HORIZONS:
                self.fields[self.cell(category, horizon)] = forms.TypedChoiceField(
                    choices=LEVELS, coerce=int, label=f"{label} impact after {horizon}",
                )

    @staticmethod
    def cell(category, horizon):
        return f"impact_{category}_{horizon}"

    def grid_rows(self):
        return [(label, [self[self.cell(category, h)] for h in HORIZONS]) for category, label in CATEGORIES]

    def bia(self):
        data = self.cleaned_data
        return {
            "rto": data["rto"], "rpo": data["rpo"], "mtpd": data["mtpd"], "data_sensitivity": data["data_sensitivity"],
            "impact": {
                category: {h: data[self.cell(category, h)] for h in HORIZONS} for category, _ in CATEGORIES
            },
        }


class DependencyForm(forms.Form):
    depends_on = forms.ModelChoiceField(queryset=Service.objects.none(), label="Depends on")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = Service.objects.exclude(pk=service.pk).order_by("name")
        if service.kind == Service.TECHNICAL:
            candidates = candidates.filter(kind=Service.TECHNICAL)
        self.fields["depends_on"].queryset = candidates


class RegionForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


class SiteForm(forms.Form):
    name = forms.CharField(max_length=120)
    region = forms.ModelChoiceField(queryset=Region.objects.order_by("name"), required=False)
    kind = forms.ChoiceField(choices=Site.KINDS, initial=Site.OFFICE)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=1000)
    latitude = forms.DecimalField(required=False, max_digits=8, decimal_places=5, help_text="-90 to 90")
    longitude = forms.DecimalField(required=False, max_digits=8, decimal_places=5, help_text="-180 to 180")
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="For example Europe/Berlin")


class ExceptionForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    summary = forms.CharField(max_length=200, help_text="For example 'vendor answers within 4 h only'")
    ack_minutes = forms.CharField(max_length=40, required=False, label="Acknowledgement within", help_text=DURATION_HELP)
    escalate_after_minutes = forms.CharField(
        max_length=40, required=False, label="Escalate after", help_text=DURATION_HELP,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    review_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Review on")

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services


class PersonnelForm(forms.Form):
    rto = forms.CharField(max_length=40, initial="4h", label="RTO at most", help_text=DURATION_HELP)
