"""API authentication: bearer tokens for machines, the session (with CSRF) for the browser."""

from ninja.security import HttpBearer, SessionAuth

from . import mfa, tokens
from .permissions import Principal, require


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        api_token = tokens.authenticate(token)
        if api_token is None:
            return None
        request.principal = Principal.load(api_token.user, api_token)
        request.user = api_token.user
        return api_token.user


class Session(SessionAuth):
    """The browser session; a user whose role demands MFA must have enrolled first."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None and mfa.must_enrol(user):
            return None
        if user is not None:
            request.principal = Principal.load(user)
        return user


API_AUTH = [BearerToken(), Session()]


def principal_of(request):
    return request.principal


def check(request, perm, team=None, *, target=""):
    require(request.principal, perm, team, target=target)
