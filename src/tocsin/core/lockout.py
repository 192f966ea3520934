"""Brute-force protection policy for django-axes: backoff that grows with repeated failures."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render

BASE_COOLOFF = timedelta(minutes=15)
MAX_COOLOFF = timedelta(hours=24)


def cooloff(request=None):
    """15 minutes at the failure limit, doubling with every further failure, capped at a day."""
    failures = getattr(request, "axes_failures_since_start", None) or settings.AXES_FAILURE_LIMIT
    extra = max(0, failures - settings.AXES_FAILURE_LIMIT)
    return min(BASE_COOLOFF * (2**min(extra, 10)), MAX_COOLOFF)


def locked_out_response(request, original_response=None, credentials=None):
    minutes = int(cooloff(request).total_seconds() // 60)
    return render(
        request,
        "core/locked_out.html",
        {"minutes": minutes},
        status=429,
    )
