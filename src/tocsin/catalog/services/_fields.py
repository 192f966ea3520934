"""Checks shared by the catalogue's use cases: names, slugs and the history stamp."""

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from tocsin.core.history import stamp

__all__ = ["clean_name", "free_slug", "stamp"]


def clean_name(name, noun, max_length=120):
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > max_length:
        raise ValidationError({"name": f"A {noun} name of 1 to {max_length} characters is required."})
    slug = slugify(name)
    if not slug:
        raise ValidationError({"name": f"A {noun} name needs at least one letter or digit."})
    return name, slug[:120]


def free_slug(model, name, slug, noun, exclude_pk=None):
    """Refuse a name whose slug (or name, ignoring case) another row already has."""
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    if others.filter(slug=slug).exists() or others.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A {noun} named '{name}' exists already."})
