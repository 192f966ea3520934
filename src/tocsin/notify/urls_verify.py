"""Routes of contact verification, mounted at /notify/verify/: a method's page, the call's TwiML
and the e-mail link."""

from django.urls import path

from . import views_verify

urlpatterns = [
    path("method/<int:method_id>/", views_verify.method_page, name="notify-verify-method"),
    path("voice/<uuid:ticket>", views_verify.voice, name="notify-verify-voice"),
    path("<str:token>", views_verify.link, name="notify-verify-link"),
]
