"""What `tocsin check` reports about notifications: whether Tocsin has any way out at all, and
providers whose last health check failed."""

from tocsin.core.config_checks import Finding
from tocsin.escalation.models import NotificationRequest

from .models import Provider
from .provider_choice import any_configured


def provider_findings():
    if not any_configured():
        waiting = NotificationRequest.objects.filter(state=NotificationRequest.PENDING).count()
        return [Finding("warning", (
            "notify: no notification provider is configured (TOCSIN_SMTP_URL, TOCSIN_TWILIO_*, or a provider "
            f"under /notify/providers/), so nobody can be paged; {waiting} notification request(s) are waiting"))]
    unhealthy = list(Provider.objects.filter(enabled=True, healthy=False).values_list("name", "health_error"))
    if unhealthy:
        return [Finding("warning", f"notify: provider {name} failed its health check: {error or 'no answer'}")
                for name, error in unhealthy]
    return [Finding("ok", "notify: every enabled provider passed its last health check")]
