"""The JSON API at /api/v1: mounts each app's router and turns every failure into a clean 4xx."""

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from .alerts.api import router as alerts_router
from .alerts.api_rules import router as alert_rules_router
from .catalog.api import router as catalog_router
from .core.api import router as core_router
from .core.api_auth import API_AUTH
from .core.permissions import PermissionDeniedError
from .directory.api import router as directory_router
from .directory.api_sync import router as sync_router
from .escalation.api import router as escalation_router
from .incidents.api import router as incidents_router
from .oncall.api import router as oncall_router

api = NinjaAPI(
    title="Tocsin API",
    version="1",
    urls_namespace="api-v1",
    auth=API_AUTH,
    description="Bearer tokens (`Authorization: Bearer tcs_…`) or the browser session with CSRF.",
)
api.add_router("/", core_router)
api.add_router("/directory", directory_router)
api.add_router("/directory/sync", sync_router)
api.add_router("/", catalog_router)
api.add_router("/", oncall_router)
api.add_router("/", incidents_router)
api.add_router("/", escalation_router)
api.add_router("/", alerts_router)
api.add_router("/", alert_rules_router)
api.add_router("/", "tocsin.alerts.api_maintenance.router")
api.add_router("/", "tocsin.alerts.api_outbound.router")
api.add_router("/", "tocsin.notify.api.router")
api.add_router("/", "tocsin.notify.api_channels.router")
api.add_router("/", "tocsin.notify.api_verify.router")


@api.exception_handler(PermissionDeniedError)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc.args[0]), "permission": exc.permission}, status=403)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(request, {"detail": "Authentication required: send a valid bearer token."}, status=401)


@api.exception_handler(ValidationError)
def invalid(request, exc):
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
        first = next(iter(errors.items()))
        detail = f"{first[0]}: {first[1][0]}"
    else:
        errors, detail = {}, "; ".join(exc.messages)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)
