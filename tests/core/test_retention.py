"""A6: retention periods per record type, overridable by the operator, with audited purges."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tocsin.core import audit, retention
from tocsin.core.models import AuditEntry, RetentionRule


@pytest.fixture
def fake_type():
    seen = []

    def purge(cutoff, *, actor, dry_run):
        seen.append((cutoff, dry_run))
        return 3

    retention.register("test.things", "Test things", 30, purge)
    yield seen
    retention._registry.pop("test.things")


def test_default_period_and_override(db, fake_type):
    now = timezone.now()
    retention.run(actor=audit.Actor.system("t"), now=now)
    assert fake_type[-1] == (now - timedelta(days=30), False)
    RetentionRule.objects.create(record_type="test.things", days=400)
    retention.run(actor=audit.Actor.system("t"), now=now, dry_run=True)
    assert fake_type[-1] == (now - timedelta(days=400), True)
    RetentionRule.objects.filter(record_type="test.things").update(enabled=False)
    assert "test.things" not in retention.run(actor=audit.Actor.system("t"), now=now)


def test_purges_are_audited_but_dry_runs_are_not(db, fake_type):
    retention.run(actor=audit.Actor.system("t"), dry_run=True)
    assert not AuditEntry.objects.filter(action="retention.purged").exists()
    retention.run(actor=audit.Actor.system("t"))
    entry = AuditEntry.objects.get(action="retention.purged", summary__record_type="test.things")
    assert entry.summary["count"] == 3
