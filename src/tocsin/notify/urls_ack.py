"""Routes of the acknowledgement links, mounted at the site root: /ack/<token> and /resolve/<token>."""

from django.urls import path

from . import views_ack

urlpatterns = [
    path("ack/<str:token>", views_ack.acknowledge, name="notify-ack"),
    path("resolve/<str:token>", views_ack.resolve, name="notify-resolve"),
]
