"""The engine page: queue health and dead letters, retried by an administrator."""

from datetime import datetime, timezone

from django.test import Client

from tocsin.core.models import AuditEntry
from tocsin.engine.models import Job

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _dead(**fields):
    return Job.objects.create(kind="engine.probe", due_at=T0, state=Job.DEAD, attempts=8, finished_at=T0,
                              last_error="RuntimeError: provider down", **fields)


def test_administrators_see_dead_letters_and_queue_them_again(make_user):
    job = _dead()
    admin = _client(make_user("root", roles=["admin"]))
    page = admin.get("/admin/engine/").content.decode()
    assert "RuntimeError: provider down" in page and 'id="dead-count">1<' in page
    response = admin.post("/admin/engine/retry/", {"job": [str(job.pk)]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == Job.PENDING and job.attempts == 0
    assert AuditEntry.objects.filter(action="engine.retry_dead").exists()


def test_retry_without_a_choice_or_with_junk_changes_nothing(make_user):
    job = _dead()
    admin = _client(make_user("root", roles=["admin"]))
    for junk in ({}, {"job": ["x"]}, {"job": ["99999999999999999999"]}):
        assert admin.post("/admin/engine/retry/", junk).status_code == 302
    job.refresh_from_db()
    assert job.state == Job.DEAD


def test_the_engine_page_is_for_administrators_only(make_user):
    _dead()
    responder = _client(make_user("ana", roles=["responder"]))
    assert responder.get("/admin/engine/").status_code == 403
    assert responder.post("/admin/engine/retry/", {"job": ["1"]}).status_code == 403
