"""Configuration sanity checks, shared by `tocsin check` and the production start refusal."""

from dataclasses import dataclass

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@dataclass
class Finding:
    level: str  # ok, info, warning, error
    message: str


# Checks of the data itself that apps add in their `ready()`: callables returning Findings,
# run by `tocsin check` once the database is reachable and migrated.
_DATA_CHECKS = []


def register(check):
    _DATA_CHECKS.append(check)


def _data_findings():
    findings = []
    for check in _DATA_CHECKS:
        name = getattr(check, "__qualname__", repr(check))
        try:
            findings.extend(check())
        except Exception as exc:  # one broken check must not hide the others or pose as an outage
            findings.append(Finding("error", f"check {name} failed: {type(exc).__name__}"))
    return findings


def production_refusals():
    """What makes a production start unsafe. `tocsin serve` refuses to start while any remain."""
    problems = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY or len(settings.SECRET_KEY) < 32:
        problems.append("TOCSIN_SECRET_KEY is the development secret or shorter than 32 characters.")
    if not settings.TOCSIN_ENCRYPTION_KEYS:
        problems.append("TOCSIN_ENCRYPTION_KEYS is not set; personal data would be encrypted with a derived development key.")
    if not settings.TOCSIN_AUDIT_KEY:
        problems.append("TOCSIN_AUDIT_KEY is not set; the audit chain must be keyed from outside the database.")
    if not settings.TOCSIN_BLIND_INDEX_KEY:
        problems.append("TOCSIN_BLIND_INDEX_KEY is not set.")
    if settings.DEBUG:
        problems.append("TOCSIN_DEBUG is on.")
    return problems


def _invalid_keys():
    bad = []
    for index, key in enumerate(settings.TOCSIN_ENCRYPTION_KEYS):
        try:
            Fernet(key.encode())
        except ValueError:
            bad.append(index + 1)
    return bad


def run_all():
    findings = []
    production = settings.PRODUCTION
    for problem in production_refusals():
        findings.append(Finding("error" if production else "warning", problem))
    bad = _invalid_keys()
    if bad:
        findings.append(Finding("error", f"TOCSIN_ENCRYPTION_KEYS entry {bad} is not a valid Fernet key (use `tocsin keygen`)."))
    try:
        connection.ensure_connection()
        findings.append(Finding("ok", f"database reachable ({connection.vendor})"))
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        findings.append(
            Finding("warning", f"{len(pending)} migration(s) pending; `tocsin serve` applies them")
            if pending else Finding("ok", "migrations applied")
        )
    except Exception as exc:
        findings.append(Finding("error", f"database unreachable: {type(exc).__name__}"))
        pending = None
    if pending == []:
        findings.extend(_data_findings())
    if connection.vendor == "sqlite":
        findings.append(
            Finding("info", f"SQLite in WAL mode with synchronous={settings.TOCSIN_SQLITE_SYNCHRONOUS}: "
                    + ("a committed write survives power loss" if settings.TOCSIN_SQLITE_SYNCHRONOUS in {"FULL", "EXTRA"}
                       else "a committed write survives a crash of Tocsin, not of the machine"))
        )
    if not settings.TOCSIN_AUDIT_ANCHOR_FILE:
        findings.append(Finding("warning", "no TOCSIN_AUDIT_ANCHOR_FILE: deletion of the newest audit rows is caught only via /metrics"))
    findings.append(Finding("info", f"environment: {settings.TOCSIN_ENV}; base URL {settings.BASE_URL}"))
    return findings
