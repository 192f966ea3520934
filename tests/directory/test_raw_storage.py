"""A5 for the directory: contact values never reach the database file, its WAL, the history
tables or the logs in clear, through the real server."""

import sqlite3

import httpx

from tests.support.server import Served, environment, tocsin

NUMBER, NEW_NUMBER, EMAIL = "+491701234542", "+491707654321", "zelda.private@example.org"


def test_no_contact_value_in_clear_anywhere(tmp_path):
    env = environment(tmp_path)
    tocsin(env, "demo", "--password", "demo-password-123")
    token = tocsin(env, "token", "create", "--user", "admin", "--name", "t", "--scope", "contacts:write",
                   "--scope", "contacts:read", "--scope", "contacts:reveal").stdout.split()[-1]
    db_path = tmp_path / "tocsin.db"
    keeper = sqlite3.connect(db_path)  # keeps the WAL from being folded into the main file
    keeper.execute("SELECT 1 FROM directory_person").fetchall()
    try:
        with Served(env) as server:
            api = httpx.Client(base_url=f"{server.base}/api/v1/directory", headers={"Authorization": f"Bearer {token}"})
            person = api.post("/people", json={"name": "Zelda Unique", "teams": ["network"]}).json()
            sms = api.post(f"/people/{person['id']}/methods", json={"kind": "sms", "value": "+49 170 1234542"}).json()
            api.post(f"/people/{person['id']}/methods", json={"kind": "email", "value": EMAIL})
            assert api.patch(f"/methods/{sms['id']}", json={"value": "+49 170 7654321"}).status_code == 200
            revealed = api.post(f"/methods/{sms['id']}/reveal").json()
            assert revealed["value"] == NEW_NUMBER
            blobs = [db_path.read_bytes(), (tmp_path / "tocsin.db-wal").read_bytes()]
            logs = server.output()
    finally:
        keeper.close()
    assert any(b"Zelda Unique" in blob for blob in blobs)  # the writes are in these files...
    for blob in blobs:
        for secret in (NUMBER, NEW_NUMBER, EMAIL, "1701234542", "1707654321"):
            assert secret.encode() not in blob, secret  # ...but no value, old or new, in clear
    for secret in (NUMBER, NEW_NUMBER, EMAIL, "1234542", "7654321"):
        assert secret not in logs
