"""Security events from Django auth and django-axes, written to the audit log."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit


def _username(credentials):
    return str((credentials or {}).get("username", ""))[:150]


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    audit.record(audit.Actor.user(user), "auth.login", user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(audit.Actor.user(user), "auth.logout", user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    audit.record(audit.Actor.anonymous(_username(credentials)), "auth.login_failed")


@receiver(user_locked_out)
def on_locked_out(sender, request, username, ip_address, **kwargs):
    audit.record(audit.Actor.anonymous(str(username or "")[:150]), "auth.locked_out", summary={"ip": ip_address})
