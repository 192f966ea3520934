"""On-call app: schedules, rotations, overrides, swaps, who is on call, and calendars."""

from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "tocsin.oncall"
    label = "oncall"
    verbose_name = "On-call schedules"
