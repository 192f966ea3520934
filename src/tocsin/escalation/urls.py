"""Routes of the escalation pages: policies, their tier builder, and the services they page for."""

from django.urls import path

from . import views, views_policies

urlpatterns = [
    path("policies/", views.policy_list, name="escalation-policies"),
    path("policies/new/", views_policies.policy_create, name="escalation-policy-create"),
    path("policies/<int:policy_id>/", views.policy_detail, name="escalation-policy"),
    path("policies/<int:policy_id>/edit/", views_policies.policy_edit, name="escalation-policy-edit"),
    path("policies/<int:policy_id>/delete/", views_policies.policy_delete, name="escalation-policy-delete"),
    path("policies/<int:policy_id>/services/", views.service_link, name="escalation-service-link"),
    path("policies/<int:policy_id>/services/<int:service_id>/unlink/", views.service_unlink,
         name="escalation-service-unlink"),
]
