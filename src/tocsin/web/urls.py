"""Routes of the web shell: the home dashboard, its fragment and its event stream."""

from django.urls import path

from . import events, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/fragment", views.dashboard_fragment, name="dashboard-fragment"),
    path("events/dashboard", events.dashboard_events, name="dashboard-events"),
]
