"""Route of Slack's interactivity callback (the Acknowledge and Resolve buttons), mounted at /notify/slack/."""

from django.urls import path

from . import views_slack

urlpatterns = [
    path("interactive", views_slack.interactive, name="notify-slack-interactive"),
]
