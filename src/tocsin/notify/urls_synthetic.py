"""Routes of provider monitoring, mounted at /notify/: the SLA page and the synthetic checks."""

from django.urls import path

from . import views_sla, views_synthetic

urlpatterns = [
    path("providers/sla/", views_sla.sla_page, name="notify-sla"),
    path("synthetic/", views_synthetic.checks, name="notify-synthetic"),
    path("synthetic/<int:check_id>/toggle/", views_synthetic.toggle, name="notify-synthetic-toggle"),
    path("synthetic/voice/<int:run_id>", views_synthetic.voice, name="notify-synthetic-voice"),
]
