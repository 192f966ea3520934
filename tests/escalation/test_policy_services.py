"""Policy use cases: deletion kept for the record, and tags without control characters."""

import pytest
from django.core.exceptions import ValidationError

from tocsin.escalation import services, spec

from .conftest import SYSTEM, tier


def test_a_policy_incidents_escalated_on_cannot_be_deleted(person, policy, clock, trigger):
    used = policy(tier(person("Ana")))
    trigger()
    services.unlink_service(used.services.get().service, actor=SYSTEM)
    with pytest.raises(ValidationError, match="kept as their record"):
        services.delete_policy(used, actor=SYSTEM)


def test_tags_refuse_control_characters(db):
    document = {"tiers": [{"delay_minutes": 5, "targets": [{"type": "person", "id": 1}], "tags": ["db\x07"]}]}
    with pytest.raises(ValidationError, match="printable"):
        spec.parse(document)
