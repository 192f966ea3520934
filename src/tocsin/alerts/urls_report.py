"""Route of the outage report page, mounted at /alerts/report/."""

from django.urls import path

from . import views_report

urlpatterns = [
    path("", views_report.report, name="alert-report"),
]
