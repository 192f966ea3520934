from django.db import connection, transaction

from tocsin.core import audit, crypto
from tocsin.core.fields import encrypted_fields
from tocsin.core.management.base import TocsinCommand

BATCH = 500


class Command(TocsinCommand):
    help = (
        "Re-encrypt every encrypted value (history tables included) under the first key of "
        "TOCSIN_ENCRYPTION_KEYS. Afterwards the older keys can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for model, field in encrypted_fields():
            table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
            rotated = self._rotate_table(table, column, pk)
            total += rotated
            self.stdout.write(f"{table}.{column}: {rotated} value(s) re-encrypted")
        audit.record(audit.Actor.system("rotate-keys"), "crypto.keys_rotated", summary={"values": total})
        self.stdout.write(f"done: {total} value(s) now under the current key")

    @staticmethod
    def _rotate_table(table, column, pk):
        quote = connection.ops.quote_name
        rotated, last = 0, None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {quote(pk)} > %s " if last is not None else ""
                cursor.execute(
                    f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} {where}ORDER BY {quote(pk)} LIMIT {BATCH}",
                    [last] if last is not None else [],
                )
                rows = cursor.fetchall()
                if not rows:
                    return rotated
                for key, value in rows:
                    if value and not crypto.is_current(value):
                        # Compare-and-swap: a value edited since the SELECT is already under the
                        # current key and must not be overwritten with the old one.
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s AND {quote(column)} = %s",
                            [crypto.rotate(value), key, value],
                        )
                        rotated += cursor.rowcount
                last = rows[-1][0]
