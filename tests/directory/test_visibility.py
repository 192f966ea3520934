"""B10: need-to-know. Masked by default; stewards for their teams; grants with reasons and
time limits; every reveal audited."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from tocsin.core.models import AuditEntry
from tocsin.core.permissions import Principal
from tocsin.directory import services
from tocsin.directory.models import ContactPolicy
from tocsin.directory.visibility import can_view_contact, register_need, reveal, _need_rules

from .conftest import SYSTEM


def test_standing_access_follows_team_scope(make_user, make_team, make_person, phone):
    network, platform = make_team("Network"), make_team("Platform")
    ana = make_person("Ana", teams=[network])
    chen = make_person("Chen", teams=[platform])
    steward = Principal.load(make_user(roles=[("contact_steward", "network")]))
    admin = Principal.load(make_user(roles=["admin"]))
    assert can_view_contact(steward, ana).basis == "standing"
    assert not can_view_contact(steward, chen)
    assert can_view_contact(admin, chen)


def test_responder_sees_masked_then_uses_a_grant(make_user, make_team, make_person, phone):
    network = make_team("Network")
    ana = make_person("Ana", teams=[network])
    method = phone(ana, "+49 170 1234542")
    responder_user = make_user(roles=["responder"])
    responder = Principal.load(responder_user)
    assert reveal(responder, method) is None
    assert AuditEntry.objects.filter(action="contact.reveal_denied").exists()
    ContactPolicy.objects.update_or_create(pk=1, defaults={"grant_self_approve_roles": ["responder"]})
    grant = services.request_grant(
        responder_user, actor=SYSTEM, reason="Bridge call for the core switch outage", duration_minutes=60, team=network
    )
    assert grant.status == "active"
    assert reveal(responder, method) == "+491701234542"
    entry = AuditEntry.objects.filter(action="contact.revealed").latest("seq")
    assert entry.summary["basis"] == "grant" and entry.summary["grant"] == grant.pk
    assert "1234542" not in str(entry.summary)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert not can_view_contact(responder, ana)


def test_grant_needs_an_approver_unless_the_role_self_approves(make_user, make_person):
    ana = make_person("Ana")
    viewer = make_user(roles=["viewer"])
    admin = make_user(roles=["admin"])
    grant = services.request_grant(viewer, actor=SYSTEM, reason="Checking a vendor escalation", duration_minutes=30, person=ana)
    assert grant.status == "pending" and not can_view_contact(Principal.load(viewer), ana)
    try:
        services.approve_grant(grant, viewer, actor=SYSTEM)
    except Exception as exc:
        assert "own grant" in str(exc)
    services.approve_grant(grant, admin, actor=SYSTEM)
    assert can_view_contact(Principal.load(viewer), ana).basis == "grant"
    services.revoke_grant(grant, actor=SYSTEM)
    assert not can_view_contact(Principal.load(viewer), ana)


def test_grant_by_role_covers_its_current_holder(make_user, make_person, make_role):
    ana = make_person("Ana")
    role = make_role("CTO")
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=timezone.now() - timedelta(hours=1))
    user = make_user(roles=["viewer"])
    ContactPolicy.objects.update_or_create(pk=1, defaults={"grant_self_approve_roles": ["viewer"]})
    services.request_grant(user, actor=SYSTEM, reason="Executive escalation drill", duration_minutes=15, role=role)
    assert can_view_contact(Principal.load(user), ana)


def test_self_and_incident_need(make_user, make_person):
    user = make_user(roles=["viewer"])
    me = make_person("Me", user=user)
    other = make_person("Other")
    assert can_view_contact(Principal.load(user), me).basis == "self"
    register_need(lambda u, p, at, ctx: "#42" if p.pk == other.pk and ctx.get("incident") == 42 else None)
    try:
        assert can_view_contact(Principal.load(user), other, {"incident": 42}).incident == "#42"
        assert not can_view_contact(Principal.load(user), other)
    finally:
        _need_rules.pop()


def test_bad_grant_requests_are_named(make_user, make_person):
    import pytest
    from django.core.exceptions import ValidationError

    user, ana = make_user(roles=["viewer"]), make_person("Ana")
    for kwargs, field in [
        ({"reason": "short", "duration_minutes": 30, "person": ana}, "reason"),
        ({"reason": "a sufficient reason", "duration_minutes": 100000, "person": ana}, "duration_minutes"),
        ({"reason": "a sufficient reason", "duration_minutes": 30}, "scope"),
    ]:
        with pytest.raises(ValidationError) as error:
            services.request_grant(user, actor=SYSTEM, **kwargs)
        assert field in error.value.message_dict
