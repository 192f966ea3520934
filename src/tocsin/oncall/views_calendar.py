"""Calendar pages: the iCal feeds themselves (opened by secret token, no login), the page where one
creates and revokes one's feeds, and the upload of a calendar as a schedule layer."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required, principal, require_for_team
from tocsin.directory.models import Person

from . import feeds, ical_export, ical_import, services
from .schemas import MAX_LEVEL
from .models import CalendarFeed, Layer, Schedule

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _calendar_response(body):
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    # The address is a secret: keep the answer out of shared caches.
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="oncall.ics"'
    return response


@require_GET
def schedule_calendar(request, schedule_slug):
    feed = feeds.lookup(request.GET.get("token", ""))
    if feed is None or feed.schedule_id is None or feed.schedule.slug != schedule_slug:
        raise Http404("No such calendar.")
    return _calendar_response(ical_export.schedule_calendar(feed.schedule, timezone.now()))


@require_GET
def person_calendar(request, person_id):
    feed = feeds.lookup(request.GET.get("token", ""))
    if feed is None or feed.person_id != person_id or not feed.person.is_active:
        raise Http404("No such calendar.")
    return _calendar_response(ical_export.person_calendar(feed.person, timezone.now()))


# --- my feeds ----------------------------------------------------------------------------


class FeedForm(forms.Form):
    """What to subscribe to: a schedule, or "me", one's own shifts everywhere."""

    MINE = "me"
    target = forms.ChoiceField(label="Calendar of")

    def __init__(self, *args, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(self.MINE, f"My own shifts ({person.name})")] if person is not None else []
        choices += [(str(pk), name) for pk, name in Schedule.objects.values_list("pk", "name")]
        self.fields["target"].choices = choices


def _own_person(user):
    return Person.objects.filter(user=user, is_active=True).first()


@never_cache
@permission_required("oncall:read")
def feed_list(request):
    who = principal(request)
    person = _own_person(request.user)
    form = FeedForm(request.POST or None, person=person)
    created = None
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        schedule = None if target == FeedForm.MINE else Schedule.objects.filter(pk=target).first()
        if schedule is None and person is None:
            raise Http404("No such schedule.")
        if schedule is None and not feeds.may_create(who, person=person):
            feeds.refuse(who, "oncall:manage", target=request.path[:200])
        try:
            feed, secret = services.create_feed(actor=actor(request), created_by=request.user,
                                                schedule=schedule, person=None if schedule else person)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            created = {"feed": feed, "url": feeds.address(feed, secret)}
            form = FeedForm(person=person)
    mine = (CalendarFeed.objects.filter(created_by=request.user, revoked_at__isnull=True)
            .select_related("schedule", "person"))
    return render(request, "oncall/calendar_feeds.html", {"form": form, "feeds": mine, "created": created})


@require_POST
@login_required
def feed_revoke(request, feed_id):
    feed = get_object_or_404(CalendarFeed.objects.select_related("schedule", "person"), pk=feed_id)
    who = principal(request)
    if not feeds.may_revoke(who, feed):
        feeds.refuse(who, "oncall:manage", getattr(feed.schedule, "team_id", None), target=request.path[:200])
    services.revoke_feed(feed, actor=actor(request))
    messages.success(request, f"Feed {feed.token_prefix}… is revoked; its address no longer works.")
    return redirect("oncall-feeds")


# --- calendar import ---------------------------------------------------------------------


class CalendarImportForm(forms.Form):
    name = forms.CharField(max_length=120, initial="Imported calendar")
    level = forms.IntegerField(required=False, min_value=1, max_value=MAX_LEVEL,
                               help_text="Higher levels override lower ones; empty: on top, or the layer's own")
    layer = forms.ModelChoiceField(queryset=Layer.objects.none(), required=False, empty_label="A new layer",
                                   label="Replace")
    file = forms.FileField(required=False, label="iCalendar file (.ics)",
                           widget=forms.ClearableFileInput(attrs={"accept": ".ics,text/calendar"}))
    calendar = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}),
                               label="… or paste the calendar", strip=False)

    def __init__(self, *args, schedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layer"].queryset = schedule.layers.filter(rotation=Layer.CALENDAR)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            # One byte more than allowed, so the service can say the file is too large.
            raw = upload.read(ical_import.MAX_BYTES + 1)
            try:
                data["calendar"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError({"calendar": "The file is not UTF-8 text; iCalendar files are."}) from None
        if not data.get("calendar"):
            raise ValidationError({"calendar": "Choose a file or paste a calendar."})
        return data


@never_cache
@login_required
def calendar_import(request, schedule_slug):
    schedule = get_object_or_404(Schedule, slug=schedule_slug)
    require_for_team(request, "oncall:manage", schedule.team_id)
    form = CalendarImportForm(request.POST or None, request.FILES or None, schedule=schedule)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            layer = services.import_calendar_layer(
                schedule, actor=actor(request), source_text=data["calendar"],
                name=data["name"], level=data["level"], layer=data["layer"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Layer '{layer.name}' now follows the calendar "
                                      f"({len(set(layer.calendar_people.values()))} people).")
            return redirect("oncall-schedule", slug=schedule.slug)
    return render(request, "oncall/calendar_import.html", {"schedule": schedule, "form": form})
