"""Request plumbing: request ids, client IP, metrics and access log; body limits; MFA enforcement."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render

from . import context
from .metrics import LATENCY, REQUESTS

_JSON_PREFIXES = ("/api/", "/v2/", "/integrations/", "/scim/")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
access_log = logging.getLogger("tocsin.access")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        rid = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = rid
        tokens = (context.request_id.set(rid), context.client_ip.set(request.META.get("REMOTE_ADDR", "")))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            context.request_id.reset(tokens[0])
            context.client_ip.reset(tokens[1])
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route) if match and match.route else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(elapsed)
        response["X-Request-ID"] = rid
        # The path only: query strings may carry calendar or acknowledgement tokens.
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
                "request_id": rid,
            },
        )
        return response


def expects_json(request):
    """API, ingestion and SCIM callers get JSON errors; browsers get pages."""
    return request.path.startswith(_JSON_PREFIXES) or "application/json" in request.headers.get("Accept", "")


def json_error(status, detail, **extra):
    return JsonResponse({"detail": detail, **extra}, status=status)


class BodySizeLimitMiddleware:
    """Refuse declared bodies over the limit before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "Content-Length is not a number.")
        if length > settings.TOCSIN_MAX_BODY_BYTES:
            detail = f"Request body exceeds {settings.TOCSIN_MAX_BODY_BYTES} bytes."
            if expects_json(request):
                return json_error(413, detail)
            return render(request, "web/error.html", {"status": 413, "detail": detail + " Use the command line for large files."}, status=413)
        return self.get_response(request)


class MfaEnrolmentMiddleware:
    """A signed-in user whose role requires MFA goes to enrolment before anything else."""

    ALLOWED_PREFIXES = ("/account/mfa/", "/logout/", "/static/", "/api/", "/healthz", "/readyz", "/metrics")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and not user.is_verified()
        ):
            from .mfa import must_enrol

            if must_enrol(user):
                return redirect("account-mfa-enrol")
        return self.get_response(request)
