"""Permission guards for HTML views, backed by the same matrix as the API."""

import functools

from django.contrib.auth.decorators import login_required

from .permissions import Principal, require


def principal(request):
    if not hasattr(request, "principal"):
        request.principal = Principal.load(request.user if request.user.is_authenticated else None)
    return request.principal


def permission_required(perm):
    """Signed-in users only; those without `perm` get the friendly 403 page and an audit entry."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            require(principal(request), perm, target=request.path[:200])
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
