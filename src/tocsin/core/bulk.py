"""Writing many rows' fields at once.

Both helpers convert values with the wrapper of the default database itself, not the
thread-aware `django.db.connection` proxy, whose every attribute lookup (several per value)
cost more than the conversion."""

from django.db import DEFAULT_DB_ALIAS, connections


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
    """INSERT every object (its primary key left to the database): one parameterised statement sent
    for all rows, as update_each does; the ORM's bulk_create spells out every row's placeholders
    in one long statement, which costs more than the writes once there are hundreds of rows.
    `ignore_conflicts`: a row that would break a unique constraint is left out. The objects'
    primary keys are not set."""
    if not objects:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
           f"{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''}")
    rows = [[field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields] for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
