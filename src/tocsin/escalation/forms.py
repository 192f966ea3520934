"""HTML forms of the policy pages: a tier builder that works without JavaScript (a formset of tiers
with blank rows to fill, and one of deadlines), turned into the policy document that escalation.spec
validates; its errors ("tiers.1.delay_minutes") are carried back to the row and field they name."""

from django import forms

from tocsin.catalog.models import Service
from tocsin.core.models import Team
from tocsin.directory.models import OrgRole, Person

from . import spec as specs
from .selectors import spec_targets
from .services.links import MAX_ACK_TIMEOUT_MINUTES

PATH_CHOICES = [(path, path.capitalize()) for path in specs.PATHS]
SELECTION_CHOICES = [("all", "Notify all"), ("round_robin", "Round robin"),
                     ("least_loaded", "Least loaded (fewest open incidents)"),
                     ("expertise", "Matching expertise tags")]
URGENCY_CHOICES = [("", "Any urgency"), ("high", "High only"), ("low", "Low only")]
EXTRA_TIER_ROWS = 3
EXTRA_DEADLINE_ROWS = 2
MAX_TAG_TEXT = 500


# --- targets as "person:12", "role:3", "schedule:5" -------------------------------------------------


def target_value(target):
    return f"{target['type']}:{target['id']}"


def target_choices(keep=()):
    """Grouped choices for the target selects: active people, roles and schedules, plus any
    target in `keep` (the policy's current ones), so editing never drops one silently."""
    from tocsin.oncall.models import Schedule

    kept_people = {t["id"] for t in keep if t["type"] == "person"}
    people = list(Person.objects.filter(is_active=True).values_list("pk", "name", "is_active"))
    if kept_people:
        people += list(Person.objects.filter(pk__in=kept_people, is_active=False).values_list("pk", "name", "is_active"))
    people.sort(key=lambda row: (row[1], row[0]))
    same = {name for name, n in _name_counts(people).items() if n > 1}
    return [
        ("People", [(f"person:{pk}", (f"{name} #{pk}" if name in same else name) + ("" if active else " (deactivated)"))
                    for pk, name, active in people]),
        ("Roles", [(f"role:{pk}", name) for pk, name in OrgRole.objects.order_by("name").values_list("pk", "name")]),
        ("Schedules", [(f"schedule:{pk}", name) for pk, name in Schedule.objects.order_by("name").values_list("pk", "name")]),
    ]


def _name_counts(rows):
    counts = {}
    for _, name, _ in rows:
        counts[name] = counts.get(name, 0) + 1
    return counts


class TargetsField(forms.MultipleChoiceField):
    """People, roles and schedules chosen together; cleaned to the spec's [{type, id}]."""

    widget = forms.SelectMultiple(attrs={"size": 6})

    def clean(self, value):
        chosen = super().clean(value)
        targets = []
        for item in chosen:
            kind, _, ident = item.partition(":")
            targets.append({"type": kind, "id": int(ident)})
        return targets


# --- the policy --------------------------------------------------------------------------------


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="No team",
                                  help_text="The team that owns the policy and may change it")
    repeat = forms.IntegerField(initial=0, help_text=f"Times the whole policy runs again (0 to {specs.MAX_REPEAT})")
    follow_up_minutes = forms.IntegerField(
        initial=15, label="Follow-up minutes",
        help_text="Unacknowledged this long inside a tier's window: notify the same people again (0: never)")
    fallback = TargetsField(required=False, label="Final fallback",
                            help_text="Paged after the last repeat; empty: the administrators")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why the policy is set this way, for example a post-incident review")

    def __init__(self, *args, teams, team_required, choices, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].required = team_required
        self.fields["fallback"].choices = choices
        self.fields["reason"].required = editing
        if not editing:
            self.fields["reason"].help_text += " (optional for a new policy)"


class RowForm(forms.Form):
    """A row of a builder formset. It counts when something is typed or chosen in one of its
    CONTENT fields; a blank row (its selects left at their defaults) is an unused slot."""

    CONTENT = ()

    def has_changed(self):
        if not self.is_bound:
            return False
        for name in self.CONTENT:
            value = self.fields[name].widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if isinstance(value, str):
                value = value.strip()
            if value not in (None, "", []):
                return True
        return False


class TierForm(RowForm):
    delay_minutes = forms.IntegerField(label="Delay (minutes)", help_text="The tier's acknowledgement window")
    path = forms.ChoiceField(choices=PATH_CHOICES, initial="technical")
    targets = TargetsField()
    backup = TargetsField(required=False, help_text="Paged when the targets reach nobody")
    selection = forms.ChoiceField(choices=SELECTION_CHOICES, initial="all")
    tags = forms.CharField(required=False, max_length=MAX_TAG_TEXT, help_text="Expertise tags, comma-separated")

    CONTENT = ("delay_minutes", "targets", "backup", "tags")

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["targets"].choices = choices
        self.fields["backup"].choices = choices

    def to_spec(self):
        data = self.cleaned_data
        tags = [tag.strip() for tag in data["tags"].split(",") if tag.strip()]
        return {"delay_minutes": data["delay_minutes"], "path": data["path"], "targets": data["targets"],
                "backup": data["backup"], "selection": data["selection"], "tags": tags}

    @staticmethod
    def initial_for(tier):
        return {"delay_minutes": tier["delay_minutes"], "path": tier.get("path", "technical"),
                "targets": [target_value(t) for t in tier.get("targets", [])],
                "backup": [target_value(t) for t in tier.get("backup", [])],
                "selection": tier.get("selection", "all"), "tags": ", ".join(tier.get("tags", []))}


class DeadlineForm(RowForm):
    after_minutes = forms.IntegerField(label="Unresolved after (minutes)")
    tier = forms.IntegerField(min_value=1, label="Page tier number", help_text="1 is the first tier")
    urgency = forms.ChoiceField(choices=URGENCY_CHOICES, required=False)

    CONTENT = ("after_minutes", "tier")

    def to_spec(self):
        data = self.cleaned_data
        return {"after_minutes": data["after_minutes"], "tier": data["tier"] - 1, "urgency": data["urgency"] or None}

    @staticmethod
    def initial_for(deadline):
        return {"after_minutes": deadline["after_minutes"], "tier": deadline["tier"] + 1,
                "urgency": deadline.get("urgency") or ""}


TierFormSet = forms.formset_factory(TierForm, extra=EXTRA_TIER_ROWS, can_delete=True, can_delete_extra=False,
                                    max_num=specs.MAX_TIERS + EXTRA_TIER_ROWS, absolute_max=50)
DeadlineFormSet = forms.formset_factory(DeadlineForm, extra=EXTRA_DEADLINE_ROWS, can_delete=True,
                                        can_delete_extra=False, max_num=10, absolute_max=20)


class PolicyBuilder:
    """The policy form with its tier and deadline formsets: bound together, turned into one
    document, and given back the document's errors at the fields they name."""

    def __init__(self, data, *, teams, team_required, policy=None):
        current = policy.current.spec if policy is not None and policy.current_id else {}
        choices = target_choices(keep=spec_targets(current))
        initial = None
        if policy is not None:
            initial = {"name": policy.name, "description": policy.description, "team": policy.team_id,
                       "repeat": current.get("repeat", 0), "follow_up_minutes": current.get("follow_up_minutes", 15),
                       "fallback": [target_value(t) for t in current.get("fallback", [])], "reason": ""}
        self.policy = PolicyForm(data, initial=initial, teams=teams, team_required=team_required, choices=choices,
                                 editing=policy is not None)
        kwargs = {"empty_permitted": True}
        self.tiers = TierFormSet(data, prefix="tiers", form_kwargs={**kwargs, "choices": choices},
                                 initial=[TierForm.initial_for(t) for t in current.get("tiers", [])] or None)
        self.deadlines = DeadlineFormSet(data, prefix="deadlines", form_kwargs=kwargs,
                                         initial=[DeadlineForm.initial_for(d) for d in current.get("deadlines", [])]
                                         or None)
        self.errors = []  # document errors that belong to no single field
        self._tier_forms, self._deadline_forms = [], []

    def is_valid(self):
        valid = [self.policy.is_valid(), self.tiers.is_valid(), self.deadlines.is_valid()]
        return all(valid)

    def _used(self, formset):
        return [form for form in formset.forms
                if form.has_changed() and not (formset.can_delete and formset._should_delete_form(form))]

    def document(self):
        """The policy document from the rows in use; remembers which row each tier came from."""
        self._tier_forms = self._used(self.tiers)
        self._deadline_forms = self._used(self.deadlines)
        data = self.policy.cleaned_data
        return {
            "tiers": [form.to_spec() for form in self._tier_forms],
            "repeat": data["repeat"],
            "follow_up_minutes": data["follow_up_minutes"],
            "deadlines": [form.to_spec() for form in self._deadline_forms],
            "fallback": data["fallback"],
        }

    def apply_errors(self, exc):
        """Put each error of a ValidationError from the services at the field its path names."""
        if not hasattr(exc, "error_dict"):
            self.policy.add_error(None, exc)
            return
        for path, errors in exc.error_dict.items():
            messages = [m for error in errors for m in error.messages]
            for message in messages:
                self._place(path, message)

    def _place(self, path, message):
        parts = path.split(".")
        rows = {"tiers": self._tier_forms, "deadlines": self._deadline_forms}.get(parts[0])
        if rows is not None and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
            form = rows[int(parts[1])]
            field = parts[2] if len(parts) >= 3 and parts[2] in form.fields else None
            form.add_error(field, message)
        elif parts[0] in self.policy.fields:
            self.policy.add_error(parts[0], message)
        elif parts[0] == "tiers":
            self.errors.append(f"Tiers: {message}")
        elif parts[0] == "deadlines":
            self.errors.append(f"Deadlines: {message}")
        else:
            self.policy.add_error(None, f"{path}: {message}" if path not in ("spec", "__all__") else message)

    @property
    def has_errors(self):
        return bool(self.errors or self.policy.errors or self.tiers.total_error_count()
                    or self.deadlines.total_error_count())


# --- linking a service ------------------------------------------------------------------------


class LinkServiceForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label="Choose a service")
    ack_timeout_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ACK_TIMEOUT_MINUTES, label="Ack timeout (minutes)",
        help_text="Acknowledged but unresolved this long: trigger and escalate again (empty: never)")

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

