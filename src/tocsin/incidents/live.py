"""Tells live views (the dashboard's event stream) that an incident changed. On Postgres this is a
NOTIFY, delivered by the server at commit to every node; on SQLite (one node) the stream reads
the newest timeline entry instead, so nothing needs sending."""

from django.db import connection

CHANNEL = "tocsin_incidents"


def changed(*incident_ids):
    """The payload names one incident; several changed at once are sent as one empty payload."""
    if connection.vendor == "postgresql" and incident_ids:
        payload = str(incident_ids[0]) if len(set(incident_ids)) == 1 else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_notify('{CHANNEL}', %s)", [payload])
