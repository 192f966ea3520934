"""Read-side queries of the catalogue pages and API, each shaped to avoid per-row queries."""

from django.db.models import Prefetch

from tocsin.directory.models import Site

from .models import Dependency, LegacyException, Service


def services_for_list():
    return Service.objects.select_related("owner_team", "owner").order_by("name")


def service_detail(pk):
    """A service with everything its page shows, in a fixed number of queries."""
    return Service.objects.select_related("owner_team", "owner").prefetch_related(
        Prefetch("sites", queryset=Site.objects.select_related("region")),
        Prefetch("dependency_edges", queryset=Dependency.objects.select_related("depends_on__owner_team")
                 .order_by("depends_on__name")),
        Prefetch("dependent_edges", queryset=Dependency.objects.select_related("service__owner_team")
                 .order_by("service__name")),
    ).get(pk=pk)


def exceptions():
    return LegacyException.objects.select_related("service__owner_team", "requested_by", "approved_by")


def overdue_reviews(today):
    """Approved exceptions whose review date has passed, the longest overdue first."""
    return exceptions().filter(status=LegacyException.APPROVED, review_on__lt=today).order_by("review_on", "pk")
