"""Database triggers that make the audit table append-only (UPDATE and DELETE are refused)."""

TABLE = "core_auditentry"

_SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS tocsin_audit_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS tocsin_audit_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tocsin_audit_no_update",
    "DROP TRIGGER IF EXISTS tocsin_audit_no_delete",
]
_POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION tocsin_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS tocsin_audit_append_only ON {TABLE}",
    f"""CREATE TRIGGER tocsin_audit_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION tocsin_audit_append_only()""",
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS tocsin_audit_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS tocsin_audit_append_only()",
]


def create_statements(vendor):
    return {"sqlite": _SQLITE_CREATE, "postgresql": _POSTGRES_CREATE}.get(vendor, [])


def drop_statements(vendor):
    return {"sqlite": _SQLITE_DROP, "postgresql": _POSTGRES_DROP}.get(vendor, [])


def install(schema_editor):
    for statement in create_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def remove(schema_editor):
    for statement in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)
