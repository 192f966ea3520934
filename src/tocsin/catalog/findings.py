"""What `tocsin check` reports about the catalogue's data: overdue exception reviews and BIA warnings."""

from django.utils import timezone

from tocsin.core.config_checks import Finding

from .checks import catalog_warnings
from .selectors import overdue_reviews


def overdue_exception_reviews():
    overdue = list(overdue_reviews(timezone.localdate()))
    if not overdue:
        return [Finding("ok", "catalog: no legacy exception is overdue for review")]
    oldest = overdue[0]
    return [Finding("warning", (
        f"catalog: {len(overdue)} legacy exception(s) overdue for review, the oldest since {oldest.review_on:%Y-%m-%d} "
        f"({oldest.service.name}: {oldest.summary})"
    ))]


def impact_analysis_warnings():
    warnings = catalog_warnings()
    if not warnings:
        return [Finding("ok", "catalog: impact analysis consistent (RTO within MTPD is enforced on save)")]
    codes = {}
    for warning in warnings:
        codes[warning.code] = codes.get(warning.code, 0) + 1
    detail = ", ".join(f"{count} {code}" for code, count in sorted(codes.items()))
    return [Finding("warning", f"catalog: {len(warnings)} impact analysis warning(s): {detail}; see /catalog/services/")]
