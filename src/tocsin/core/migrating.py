"""Apply migrations, serialised across nodes by an advisory lock on PostgreSQL."""

from django.core.management import call_command
from django.db import connection

_MIGRATE_LOCK_ID = 0x70C5_0001


def migrate_serialised(verbosity=0):
    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, verbosity=verbosity)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_MIGRATE_LOCK_ID])
        try:
            call_command("migrate", interactive=False, verbosity=verbosity)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATE_LOCK_ID])
