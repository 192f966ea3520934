"""Error pages: JSON under /api/ and the ingestion paths, a friendly page elsewhere."""

from django.shortcuts import render

from tocsin.core.middleware import expects_json, json_error


def _respond(request, status, detail):
    if expects_json(request):
        return json_error(status, detail)
    return render(request, "web/error.html", {"status": status, "detail": detail}, status=status)


def bad_request(request, exception=None):
    return _respond(request, 400, "The request could not be understood.")


def forbidden(request, exception=None):
    return _respond(request, 403, "You do not have permission to do that.")


def not_found(request, exception=None):
    return _respond(request, 404, f"Nothing lives at {request.path[:200]}.")


def server_error(request):
    return _respond(request, 500, "Something went wrong on our side; it has been logged.")
