"""Routes of the alert pages, mounted at /alerts/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("services/<int:service_id>/integrations/", views.service_integrations, name="alerts-service-integrations"),
    path("services/<int:service_id>/settings/", views.service_alert_settings, name="alerts-service-settings"),
    path("integrations/<int:integration_id>/rotate-key/", views.integration_rotate, name="alerts-integration-rotate"),
    path("integrations/<int:integration_id>/delete/", views.integration_delete, name="alerts-integration-delete"),
]
