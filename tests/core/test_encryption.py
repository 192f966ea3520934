"""A5: personal data is encrypted at rest (randomised), rotatable, and never in logs."""

import sqlite3

import httpx
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tests.support.server import Served, environment, tocsin
from tocsin.core import crypto
from tocsin.core.models import User

SECRET_EMAIL = "ana.secret-person@example.org"


def _raw_email(user):
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, email_index FROM core_user WHERE id = %s", [user.pk])
        return cursor.fetchone()


def test_equal_values_give_different_ciphertexts(make_user):
    one, two = make_user(email=SECRET_EMAIL), make_user(email=SECRET_EMAIL)
    raw_one, raw_two = _raw_email(one), _raw_email(two)
    assert SECRET_EMAIL not in raw_one[0] and raw_one[0] != raw_two[0]
    assert raw_one[1] == raw_two[1]  # the blind index is deterministic, so lookups work
    assert User.objects.get(pk=one.pk).email == SECRET_EMAIL


def test_lookup_by_blind_index_and_refusal_of_ciphertext_filters(make_user):
    user = make_user(email=SECRET_EMAIL)
    found = User.objects.get(email_index=crypto.blind_index(SECRET_EMAIL.lower(), "email"))
    assert found == user
    with pytest.raises(TypeError, match="blind index"):
        User.objects.filter(email=SECRET_EMAIL).exists()


def test_key_rotation_re_encrypts_everything(make_user, settings, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOCSIN_ENCRYPTION_KEYS = [old]
    users = [make_user(email=f"person{i}@example.org") for i in range(5)]
    settings.TOCSIN_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_keys")
    assert "5 value(s) now under the current key" in capsys.readouterr().out
    settings.TOCSIN_ENCRYPTION_KEYS = [new]  # the old key is gone: everything must still read
    assert [User.objects.get(pk=u.pk).email for u in users] == [f"person{i}@example.org" for i in range(5)]
    call_command("rotate_keys")
    assert "0 value(s) re-encrypted" in capsys.readouterr().out


def test_missing_key_is_a_clear_error(make_user, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TOCSIN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    user = make_user(email=SECRET_EMAIL)
    settings.TOCSIN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="rotate-keys"):
        User.objects.get(pk=user.pk)


def test_no_plaintext_in_database_file_wal_or_logs(tmp_path):
    """Through the real server: write personal data over the API, then read the raw SQLite
    file and its WAL, and everything the server logged."""
    env = environment(tmp_path)
    tocsin(env, "demo", "--password", "demo-password-123")
    token = tocsin(env, "token", "create", "--user", "admin", "--name", "t").stdout.split()[-1]
    db_path = tmp_path / "tocsin.db"
    # Hold a connection open so SQLite keeps the WAL file instead of folding it in at the last close.
    keeper = sqlite3.connect(db_path)
    keeper.execute("SELECT 1 FROM core_user").fetchall()
    try:
        with Served(env) as server:
            headers = {"Authorization": f"Bearer {token}"}
            created = httpx.post(
                f"{server.base}/api/v1/users", headers=headers,
                json={"username": "zelda.unique", "email": SECRET_EMAIL, "first_name": "Zelda"},
            )
            assert created.status_code == 201, created.text
            user_id = created.json()["id"]
            assert httpx.patch(
                f"{server.base}/api/v1/users/{user_id}", headers=headers, json={"email": "second." + SECRET_EMAIL}
            ).status_code == 200
            assert httpx.get(f"{server.base}/api/v1/users/{user_id}", headers=headers).json()["email"].startswith("second.")
            wal = (tmp_path / "tocsin.db-wal").read_bytes()
            main = db_path.read_bytes()
            logs = server.output()
    finally:
        keeper.close()
    assert b"zelda.unique" in wal + main  # the data really is in these files...
    for blob in (main, wal):
        assert SECRET_EMAIL.encode() not in blob  # ...but never the e-mail in clear
        assert b"admin@example.org" not in blob
    assert "secret-person" not in logs and token not in logs
    assert '"route": "/api/v1/users"' in logs  # the log did record the requests
