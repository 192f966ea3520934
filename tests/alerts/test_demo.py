"""The alerting demo: integrations, grouping and a weekly patch window, idempotent."""

from django.core.management import call_command

from tocsin.alerts.models import Heartbeat, Integration, MaintenanceWindow, ServiceAlertSettings


def snapshot():
    return (sorted(Integration.objects.values_list("kind", flat=True)), MaintenanceWindow.objects.count(),
            ServiceAlertSettings.objects.count(), Heartbeat.objects.count())


def test_demo_alerting(db, capsys):
    call_command("demo", "--password", "demo-password-123")
    first = snapshot()
    call_command("demo", "--password", "demo-password-123")
    assert snapshot() == first == (["alertmanager", "events-v2", "heartbeat"], 1, 1, 1)
    assert capsys.readouterr().out.count("Alerts: 3 integrations") == 2
    window = MaintenanceWindow.objects.get()
    assert window.recurrence == "FREQ=WEEKLY;BYDAY=SU" and window.services.count() == 2
    assert Heartbeat.objects.get().interval_seconds == 24 * 3600
