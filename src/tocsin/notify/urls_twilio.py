"""Routes of Twilio's webhooks, mounted at /notify/twilio/."""

from django.urls import path

from . import views_twilio

urlpatterns = [
    path("sms", views_twilio.sms, name="notify-twilio-sms"),
    path("voice/<uuid:message_id>", views_twilio.voice, name="notify-twilio-voice"),
    path("gather/<uuid:message_id>", views_twilio.gather, name="notify-twilio-gather"),
    path("status", views_twilio.status, name="notify-twilio-status"),
]
