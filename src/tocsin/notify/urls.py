"""Routes of the notification pages, mounted at /notify/."""

from django.urls import path

from . import views_templates

app_name = "notify"

urlpatterns = [
    path("templates/", views_templates.template_list, name="templates"),
    path("templates/<str:channel>/<str:urgency>/", views_templates.template_edit, name="template-edit"),
    path("templates/<str:channel>/<str:urgency>/reset/", views_templates.template_reset, name="template-reset"),
]
