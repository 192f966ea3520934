"""Routes of the role-validation audit pages."""

from django.urls import path

from . import views_audit

urlpatterns = [
    path("", views_audit.audit_page, name="escalation-audit"),
    path("run/", views_audit.audit_run, name="escalation-audit-run"),
    path("<int:audit_id>/", views_audit.audit_report, name="escalation-audit-report"),
]
