"""B8: every change to a method is a version with who, when and source; restore works;
history holds ciphertext only."""

from django.db import connection

from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services

from .conftest import SYSTEM


def test_versions_diff_and_restore(make_user, make_person, phone):
    steward = make_user("steward", roles=["contact_steward"])
    actor = audit.Actor.user(steward)
    ana = make_person("Ana")
    method = phone(ana, "+49 170 1111111")
    services.mark_verified(method, actor=actor)
    services.update_method(method, actor=actor, source="ui", value="+49 170 2222222")
    method.refresh_from_db()
    assert method.value == "+491702222222" and not method.verified  # a new number is unverified
    versions = list(method.history.order_by("history_date"))
    assert [v.value for v in versions] == ["+491701111111", "+491701111111", "+491702222222"]
    assert versions[-1].history_user == steward and versions[-1].history_change_reason.startswith("ui:user:steward")
    delta = versions[-1].diff_against(versions[-2])
    assert {c.field for c in delta.changes} >= {"value", "verified"}
    services.restore_method(method, versions[0].history_id, actor=actor)
    method.refresh_from_db()
    assert method.value == "+491701111111"
    assert AuditEntry.objects.filter(action="contact.method_restored").exists()


def test_history_and_audit_hold_no_plaintext(make_person, phone):
    ana = make_person("Ana")
    method = phone(ana, "+49 170 9876543")
    services.update_method(method, actor=SYSTEM, value="+49 170 5555555")
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM directory_historicalcontactmethod")
        stored = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT summary FROM core_auditentry")
        summaries = " ".join(str(row[0]) for row in cursor.fetchall())
    assert stored and all("9876543" not in value and "5555555" not in value for value in stored)
    assert "9876543" not in summaries and "5555555" not in summaries


def test_rotation_covers_history(make_person, phone, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOCSIN_ENCRYPTION_KEYS = [old]
    method = phone(make_person("Ana"), "+49 170 9876543")
    services.update_method(method, actor=SYSTEM, label="mobile")
    settings.TOCSIN_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_keys")
    settings.TOCSIN_ENCRYPTION_KEYS = [new]
    assert {v.value for v in method.history.all()} == {"+491709876543"}
