"""URL map: the API, operational endpoints, accounts and administration, and the web UI."""

from django.urls import include, path

from .api import api
from .core import ops_views

urlpatterns = [
    path("api/v1/", api.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("scim/v2/", include("tocsin.directory.urls_scim")),
    path("directory/", include("tocsin.directory.urls")),
    path("directory/exports/", include("tocsin.directory.urls_export")),
    path("catalog/", include("tocsin.catalog.urls")),
    path("oncall/", include("tocsin.oncall.urls")),
    path("incidents/", include("tocsin.incidents.urls")),
    path("alerts/report/", include("tocsin.alerts.urls_report")),
    path("alerts/rules/", include("tocsin.alerts.urls_rules")),
    path("alerts/", include("tocsin.alerts.urls")),
    path("admin/engine/", include("tocsin.engine.urls")),
    path("escalation/audit/", include("tocsin.escalation.urls_audit")),
    path("escalation/", include("tocsin.escalation.urls")),
    path("notify/twilio/", include("tocsin.notify.urls_twilio")),
    path("notify/slack/", include("tocsin.notify.urls_slack")),
    path("notify/verify/", include("tocsin.notify.urls_verify")),
    path("notify/", include("tocsin.notify.urls_synthetic")),
    path("notify/", include("tocsin.notify.urls")),
    path("notify/", include("tocsin.notify.urls_settings")),
    path("", include("tocsin.notify.urls_ack")),
    path("", include("tocsin.core.urls")),
    path("", include("tocsin.web.urls")),
]

handler400 = "tocsin.web.errors.bad_request"
handler403 = "tocsin.web.errors.forbidden"
handler404 = "tocsin.web.errors.not_found"
handler500 = "tocsin.web.errors.server_error"
