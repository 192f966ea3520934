"""Routes of the notification settings pages (providers, notification rules, chat channels),
mounted at /notify/."""

from django.urls import path

from . import views_settings as views

app_name = "notify_settings"

urlpatterns = [
    path("providers/", views.providers, name="providers"),
    path("providers/new/", views.provider_create, name="provider-create"),
    path("providers/<int:provider_id>/", views.provider_edit, name="provider-edit"),
    path("providers/<int:provider_id>/test/", views.provider_test, name="provider-test"),
    path("rules/", views.own_rules, name="rules"),
    path("people/<int:person_id>/rules/", views.person_rules, name="person-rules"),
    path("services/<int:service_id>/channels/", views.service_channels, name="service-channels"),
    path("teams/<slug:slug>/channels/", views.team_channels, name="team-channels"),
    path("channels/<int:channel_id>/remove/", views.channel_remove, name="channel-remove"),
]
