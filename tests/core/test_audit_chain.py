"""A4: the HMAC-chained audit log is append-only, and every kind of tampering is detected."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from tocsin.core import audit, audit_guard
from tocsin.core.models import AuditEntry

ACTOR = audit.Actor.system("test")


def _fill(n):
    for index in range(n):
        audit.record(ACTOR, "test.event", summary={"n": index}, object_type="thing", object_id=str(index))


def _raw(sql, params=()):
    """Tamper the way someone with database access would: drop the guard, then write raw SQL."""
    with connection.cursor() as cursor:
        for statement in audit_guard.drop_statements(connection.vendor):
            cursor.execute(statement)
        cursor.execute(sql, params)
        for statement in audit_guard.create_statements(connection.vendor):
            cursor.execute(statement)


@pytest.fixture
def chain(db):
    _fill(10)
    audit.anchor()
    return list(AuditEntry.objects.order_by("seq"))


def test_intact_chain_verifies(chain):
    verdict = audit.verify()
    assert verdict.ok, verdict.problem
    assert verdict.checked == 10 and verdict.head_seq == 10
    assert chain[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:]))


def test_entries_carry_request_context(db):
    from tocsin.core import context

    tokens = context.request_id.set("req-42"), context.client_ip.set("192.0.2.7")
    try:
        entry = audit.record(ACTOR, "test.ctx")
    finally:
        context.request_id.reset(tokens[0])
        context.client_ip.reset(tokens[1])
    assert (entry.request_id, entry.ip) == ("req-42", "192.0.2.7")


def test_database_refuses_update_and_delete(chain):
    for statement in (
        "UPDATE core_auditentry SET action = 'x' WHERE seq = 3",
        "DELETE FROM core_auditentry WHERE seq = 10",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 10
    assert audit.verify().ok


def test_orm_delete_is_refused(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=5).delete()


def test_edited_middle_row_is_detected(chain):
    _raw("UPDATE core_auditentry SET action = %s WHERE seq = 5", ["user.harmless"])
    verdict = audit.verify()
    assert not verdict.ok
    assert verdict.bad_seq == 5
    assert "altered" in verdict.problem


def test_deleted_middle_row_is_detected(chain):
    _raw("DELETE FROM core_auditentry WHERE seq = 4")
    verdict = audit.verify()
    assert not verdict.ok and verdict.bad_seq == 4


def test_deleted_newest_rows_are_detected_through_the_anchor(chain):
    _raw("DELETE FROM core_auditentry WHERE seq > 7")
    verdict = audit.verify()
    assert not verdict.ok
    assert verdict.bad_seq == 8
    assert "removed" in verdict.problem
    # Without the anchor the truncated chain looks whole: that is why anchors live outside the database.
    assert audit.verify(anchors=[]).ok


def test_rewritten_chain_with_plain_sha256_is_detected(chain):
    """An attacker recomputes every hash with SHA-256; without the HMAC key the chain still fails."""
    prev = audit.GENESIS
    rows = list(AuditEntry.objects.order_by("seq"))
    for entry in rows:
        entry.actor_label = "someone-else"
        entry.prev_hash = prev
        forged = hashlib.sha256(audit.canonical(entry)).hexdigest()
        _raw(
            "UPDATE core_auditentry SET actor_label = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [entry.actor_label, prev, forged, entry.seq],
        )
        prev = forged
    verdict = audit.verify(anchors=[])
    assert not verdict.ok and verdict.bad_seq == 1


def test_rewrite_with_a_wrong_key_is_detected(chain, settings):
    settings.TOCSIN_AUDIT_KEY = "some-other-key"
    assert not audit.verify(anchors=[]).ok


def test_verify_command_exit_codes(chain, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    _raw("UPDATE core_auditentry SET summary = %s WHERE seq = 2", [json.dumps({"n": 99})])
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert "#2" in capsys.readouterr().err


def test_anchor_is_written_once_per_head(db, settings):
    _fill(3)
    audit.anchor()
    audit.anchor()
    anchors = audit.read_anchors()
    assert [a["seq"] for a in anchors] == [3]
    _fill(1)
    audit.anchor()
    assert [a["seq"] for a in audit.read_anchors()] == [3, 4]


def test_changes_summary_hides_sensitive_values():
    diff = audit.changes({"email": "a@x.org", "name": "A"}, {"email": "b@x.org", "name": "B"}, sensitive={"email"})
    assert diff == {"email": "changed", "name": {"from": "A", "to": "B"}}
