"""Writing many rows' fields at once.

Both helpers convert values with the wrapper of the default database itself, not the
thread-aware `django.db.connection` proxy, whose every attribute lookup (several per value)
cost more than the conversion."""

from django.db import DEFAULT_DB_ALIAS, connections

PARAMETERS_PER_STATEMENT = 30_000  # PostgreSQL takes at most 65,535


def update_each(model, objects, field_names):
    """UPDATE `field_names` of every object by primary key: one parameterised statement sent for all
    rows (executemany). The ORM's bulk_update builds a CASE expression per field and row, which costs
    more than the writes themselves once there are hundreds of rows."""
    if not objects:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
            for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_each(model, objects, *, ignore_conflicts=False):
    """INSERT every object (its primary key left to the database). On SQLite one parameterised
    statement is run for all rows (executemany, a loop in C); PostgreSQL would answer each of
    those rows in turn, so there a statement carries many rows. The ORM's bulk_create does that
    too, but builds each row's placeholders field by field, which costs more than the writes once
    there are hundreds of rows. `ignore_conflicts`: a row that would break a unique constraint is
    left out. The objects' primary keys are not set."""
    if not objects:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES "
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    row = f"({', '.join(['%s'] * len(fields))})"
    rows = [[field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields] for obj in objects]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(head + row + tail, rows)
            return
        per_statement = max(1, PARAMETERS_PER_STATEMENT // len(fields))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(head + ", ".join([row] * len(chunk)) + tail, [value for values in chunk for value in values])
