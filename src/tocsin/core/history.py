"""Stamp the django-simple-history rows a change writes with who made it and through which source."""

SOURCES = {"ui", "api", "scim", "csv", "sync", "cli", "demo", "system"}


def stamp(instance, actor, source):
    """Call before save(): django-simple-history reads these two attributes."""
    if source not in SOURCES:
        raise ValueError(f"unknown change source {source!r}")
    instance._change_reason = f"{source}:{actor.type}:{actor.label}"[:100]
    from tocsin.core.models import ApiToken, User

    user = None
    if actor.type == "user" and actor.id:
        user = User.objects.filter(pk=actor.id).first()
    elif actor.type == "token" and actor.id:
        token = ApiToken.objects.filter(pk=actor.id).select_related("user").first()
        user = token.user if token else None
    instance._history_user = user
