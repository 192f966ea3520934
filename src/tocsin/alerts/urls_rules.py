"""Routes of the alert rules page, mounted at /alerts/rules/."""

from django.urls import path

from . import views_rules as views

urlpatterns = [
    path("", views.rules_page, name="alerts-rules"),
    path("maintenance/", views.window_create, name="alerts-rules-window-create"),
    path("maintenance/<int:window_id>/end/", views.window_end, name="alerts-rules-window-end"),
    path("peak-hours/", views.peak_create, name="alerts-rules-peak-create"),
    path("peak-hours/<int:rule_id>/toggle/", views.peak_toggle, name="alerts-rules-peak-toggle"),
    path("peak-hours/<int:rule_id>/delete/", views.peak_delete, name="alerts-rules-peak-delete"),
    path("routing/", views.routing_create, name="alerts-rules-routing-create"),
    path("routing/<int:rule_id>/toggle/", views.routing_toggle, name="alerts-rules-routing-toggle"),
    path("routing/<int:rule_id>/delete/", views.routing_delete, name="alerts-rules-routing-delete"),
    path("inhibition/", views.inhibition_create, name="alerts-rules-inhibition-create"),
    path("inhibition/<int:rule_id>/toggle/", views.inhibition_toggle, name="alerts-rules-inhibition-toggle"),
    path("inhibition/<int:rule_id>/delete/", views.inhibition_delete, name="alerts-rules-inhibition-delete"),
    path("webhooks/", views.webhook_create, name="alerts-rules-webhook-create"),
    path("webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="alerts-rules-webhook-delete"),
]
