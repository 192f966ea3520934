"""Schemathesis drives every API operation with generated input: none may answer 5xx."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tocsin.core import audit, services
from tocsin.core.permissions import PERMISSIONS

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """As Django's test client does: a request must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_header(make_user, make_team):
    make_team("Network")
    user = make_user("fuzz-admin", roles=["admin"])
    # Every permission as an explicit scope, so that writes (contacts:write) are exercised too.
    _, secret = services.issue_token(user, actor=audit.Actor.system("test"), name="fuzz", scopes=list(PERMISSIONS))
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_never_answers_5xx(case, admin_header):
    case.call_and_validate(headers={**admin_header, "Host": "127.0.0.1"}, checks=[not_a_server_error])
