"""Deleting a service: never while another still needs it, even when an edge is added meanwhile."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from tocsin.catalog import services
from tocsin.catalog.models import Dependency, Service
from tocsin.catalog.services import catalogue
from tocsin.core import audit
from tocsin.core.models import AuditEntry

from .conftest import SYSTEM


@pytest.fixture
def pair(make_service):
    return make_service("postgres"), make_service("checkout-api")


def test_an_edge_added_while_waiting_for_the_graph_lock_stops_the_delete(pair, monkeypatch):
    db, api = pair
    # A concurrent add_dependency commits while delete_service waits for the lock.
    monkeypatch.setattr(catalogue, "lock_graph", lambda: Dependency.objects.create(service=api, depends_on=db))
    with pytest.raises(ValidationError) as refused:
        services.delete_service(db, actor=SYSTEM)
    assert refused.value.message_dict == {"service": ["postgres is needed by checkout-api; remove those dependencies first."]}
    # (the simulated edge rolls back with the refused transaction; a real concurrent one was committed)
    assert Service.objects.filter(pk=db.pk).exists()
    assert not AuditEntry.objects.filter(action="catalog.service.delete").exists()


def test_an_edge_that_slips_past_the_check_is_protected_and_named(pair, monkeypatch):
    db, api = pair
    record = audit.record

    def record_then_add_edge(actor, action, *args, **kwargs):
        entry = record(actor, action, *args, **kwargs)
        if action == "catalog.service.delete":
            Dependency.objects.create(service=api, depends_on=db)
        return entry

    monkeypatch.setattr(audit, "record", record_then_add_edge)
    with pytest.raises(ValidationError, match="postgres is needed by checkout-api"):
        services.delete_service(db, actor=SYSTEM)
    assert Service.objects.filter(pk=db.pk).exists()


def test_the_database_layer_protects_a_needed_service(pair, depend):
    db, api = pair
    depend(api, db)
    with pytest.raises(ProtectedError):
        db.delete()
    api.delete()  # a service's own edges go with it
    assert not Dependency.objects.exists()


def test_an_edge_to_a_service_deleted_meanwhile_is_refused(pair):
    db, api = pair
    stale = Service.objects.get(pk=db.pk)
    services.delete_service(db, actor=SYSTEM)
    with pytest.raises(ValidationError, match="deleted meanwhile"):
        services.add_dependency(api, stale, actor=SYSTEM)
    assert not Dependency.objects.exists()


def test_the_api_names_the_dependants(pair, depend, make_user, bearer):
    db, api = pair
    depend(api, db)
    admin = bearer(make_user("root", roles=["admin"]))
    response = admin.delete(f"/api/v1/services/{db.pk}")
    assert response.status_code == 400
    assert response.json()["detail"] == "service: postgres is needed by checkout-api; remove those dependencies first."
    assert Dependency.objects.count() == 1
