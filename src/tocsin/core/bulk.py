"""Writing many rows' fields at once."""

from django.db import connection


def update_each(model, objects, field_names):
    """UPDATE `field_names` of every object by primary key: one parameterised statement sent for all
    rows (executemany). The ORM's bulk_update builds a CASE expression per field and row, which costs
    more than the writes themselves once there are hundreds of rows."""
    if not objects:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk]
            for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
