"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics

_migrated = False
_readiness_checks = []


def add_readiness_check(check):
    """Apps add checks (for example engine lag) that return an error string or None."""
    _readiness_checks.append(check)


def _migrations_applied():
    global _migrated
    if not _migrated:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    problems = []
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied():
            problems.append("database migrations are not applied")
    except Exception as exc:  # the database being down is exactly what this reports
        problems.append(f"database unreachable: {type(exc).__name__}")
    for check in _readiness_checks:
        problem = check()
        if problem:
            problems.append(problem)
    if problems:
        return JsonResponse({"status": "unready", "problems": problems}, status=503)
    return JsonResponse({"status": "ready"})


@require_GET
def metrics_view(request):
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
