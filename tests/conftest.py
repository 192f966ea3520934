"""Shared fixtures. The same suite runs on SQLite and on PostgreSQL (TOCSIN_DATABASE_URL)."""

import os
import sys

import pytest
from hypothesis import settings as hypothesis_settings

IN_CI = os.environ.get("CI", "").lower() == "true"

# CI explores a fixed, bounded set of examples so a landing never hinges on luck;
# local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("dev", max_examples=30, deadline=None)
# For a deliberate hunt: pytest --hypothesis-profile=stress
hypothesis_settings.register_profile("stress", max_examples=1000, deadline=None)
hypothesis_settings.load_profile("ci" if IN_CI else "dev")


def _loud(message):
    line = "!" * 78
    sys.stderr.write(f"\n{line}\n!! {message}\n{line}\n")


def pytest_configure(config):
    url = os.environ.get("TOCSIN_DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    from django.conf import settings

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
            password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {db['HOST']}:{db['PORT']} is unreachable ({exc.__class__.__name__})."
        if IN_CI:
            pytest.exit(f"{message} CI=true requires it.", returncode=3)
        _loud(f"SKIPPING the PostgreSQL run: {message} Install and start postgresql to run it.")
        pytest.exit("PostgreSQL tests skipped", returncode=0)


@pytest.fixture(scope="session", autouse=True)
def _audit_triggers_survive_flush():
    """Transactional tests flush tables between tests; on SQLite that is a DELETE, which the
    append-only trigger refuses. Drop the triggers around the flush and put them back.
    (PostgreSQL flushes with TRUNCATE, which row triggers do not see.)"""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseWrapper

    DatabaseOperations = DatabaseWrapper.ops_class

    from tocsin.core import audit_guard

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if audit_guard.TABLE not in tables:
            return statements
        return [*audit_guard.drop_statements("sqlite"), *statements, *audit_guard.create_statements("sqlite")]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(scope="session", autouse=True)
def _sends_in_this_process():
    """Tests send from a thread of their own process, where a test can inject a provider's
    failure; the servers and workers some tests start send from a sending process, as in
    production (notify.send_process, which tests/notify/test_send_process.py covers)."""
    from django.conf import settings

    settings.TOCSIN_SEND_PROCESS = False


@pytest.fixture(autouse=True)
def _isolated_anchor_file(settings, tmp_path):
    settings.TOCSIN_AUDIT_ANCHOR_FILE = str(tmp_path / "audit.anchors")


@pytest.fixture
def make_user(db):
    from tocsin.core import audit, services
    from tocsin.core.models import Team

    counter = {"n": 0}

    def make(username=None, *, roles=(), teams=(), password=None, email=""):
        counter["n"] += 1
        username = username or f"user{counter['n']}"
        actor = audit.Actor.system("test")
        user = services.create_user(actor=actor, username=username, password=password, email=email)
        for entry in roles:
            role, team = entry if isinstance(entry, tuple) else (entry, None)
            team_obj = Team.objects.get(slug=team) if team else None
            services.assign_role(user, role, actor=actor, team=team_obj)
        for slug in teams:
            services.add_member(Team.objects.get(slug=slug), user, actor=actor)
        return user

    return make


@pytest.fixture
def login(db):
    """A Django test client signed in as `user`: login(user, **client options)."""
    from django.test import Client

    def make(user, **kwargs):
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def person(db):
    """A person in the directory: person("Ana", tags=[…], user=…)."""
    from tocsin.core import audit
    from tocsin.directory import services

    def make(name, **fields):
        return services.create_person(actor=audit.Actor.system("test"), source="cli", name=name, **fields)

    return make


@pytest.fixture
def make_team(db):
    from tocsin.core import audit, services

    def make(name):
        return services.create_team(actor=audit.Actor.system("test"), name=name)

    return make


@pytest.fixture
def bearer(db):
    """A Django test client authenticated by a fresh API token of `user`."""
    from django.test import Client

    from tocsin.core import audit, services

    def make(user, scopes=()):
        _, secret = services.issue_token(user, actor=audit.Actor.system("test"), name="test", scopes=scopes)
        return Client(headers={"Authorization": f"Bearer {secret}"})

    return make
