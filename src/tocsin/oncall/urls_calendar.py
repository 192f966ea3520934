"""Routes of the iCal feeds and calendar import."""

from django.urls import path

from . import views_calendar

urlpatterns = [
    path("feeds/", views_calendar.feed_list, name="oncall-feeds"),
    path("feeds/<int:feed_id>/revoke/", views_calendar.feed_revoke, name="oncall-feed-revoke"),
    path("people/<int:person_id>/calendar.ics", views_calendar.person_calendar, name="oncall-person-calendar"),
    path("<slug:schedule_slug>/calendar.ics", views_calendar.schedule_calendar, name="oncall-schedule-calendar"),
    path("<slug:schedule_slug>/import/", views_calendar.calendar_import, name="oncall-calendar-import"),
]
