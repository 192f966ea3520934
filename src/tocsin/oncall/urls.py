"""Routes under /oncall/: the schedule pages and the calendar feeds."""

from . import urls_calendar, urls_pages

urlpatterns = [*urls_calendar.urlpatterns, *urls_pages.urlpatterns]
