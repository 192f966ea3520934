"""Routes of the schedule pages."""

from django.urls import path

from . import views_layers, views_overrides, views_page, views_schedules, views_swaps

urlpatterns = [
    path("", views_schedules.schedule_list, name="oncall-schedules"),
    path("new/", views_schedules.schedule_create, name="oncall-schedule-create"),
    path("swaps/", views_swaps.swap_list, name="oncall-swaps"),
    path("swaps/<int:swap_id>/<slug:action>/", views_swaps.swap_decide, name="oncall-swap-decide"),
    path("<slug:slug>/", views_page.schedule_page, name="oncall-schedule"),
    path("<slug:slug>/edit/", views_schedules.schedule_edit, name="oncall-schedule-edit"),
    path("<slug:slug>/delete/", views_schedules.schedule_delete, name="oncall-schedule-delete"),
    path("<slug:slug>/layers/new/", views_layers.layer_create, name="oncall-layer-create"),
    path("<slug:slug>/layers/<int:layer_id>/edit/", views_layers.layer_edit, name="oncall-layer-edit"),
    path("<slug:slug>/layers/<int:layer_id>/remove/", views_layers.layer_remove, name="oncall-layer-remove"),
    path("<slug:slug>/overrides/new/", views_overrides.override_create, name="oncall-override-create"),
    path("<slug:slug>/overrides/<int:override_id>/remove/", views_overrides.override_remove,
         name="oncall-override-remove"),
    path("<slug:slug>/swaps/new/", views_swaps.swap_offer, name="oncall-swap-offer"),
]
