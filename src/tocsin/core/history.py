"""Stamp the django-simple-history rows a change writes with who made it and through which source."""

from tocsin.core.models import ApiToken, User

SOURCES = {"ui", "api", "scim", "csv", "sync", "cli", "demo", "system"}


def user_of(actor):
    """The User behind an audit Actor: the user itself, or a token's owner; None for the system."""
    if actor.type == "user" and actor.id:
        return User.objects.filter(pk=actor.id).first()
    if actor.type == "token" and actor.id:
        token = ApiToken.objects.filter(pk=actor.id).select_related("user").first()
        return token.user if token else None
    return None


def stamp(instance, actor, source):
    """Call before save(): django-simple-history reads these two attributes."""
    if source not in SOURCES:
        raise ValueError(f"unknown change source {source!r}")
    instance._change_reason = f"{source}:{actor.type}:{actor.label}"[:100]
    instance._history_user = user_of(actor)
