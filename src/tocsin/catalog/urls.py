"""Routes of the catalog pages, mounted at /catalog/."""

from django.urls import path

from . import views_legacy, views_recovery, views_services, views_sites

urlpatterns = [
    path("services/", views_services.service_list, name="catalog-services"),
    path("services/new/", views_services.service_create, name="catalog-service-create"),
    path("services/<int:service_id>/", views_services.service_detail, name="catalog-service"),
    path("services/<int:service_id>/edit/", views_services.service_edit, name="catalog-service-edit"),
    path("services/<int:service_id>/delete/", views_services.service_delete, name="catalog-service-delete"),
    path("services/<int:service_id>/bia/", views_services.bia_save, name="catalog-bia"),
    path("services/<int:service_id>/dependencies/", views_services.dependency_add, name="catalog-dependency-add"),
    path(
        "services/<int:service_id>/dependencies/<int:depends_on_id>/remove/", views_services.dependency_remove,
        name="catalog-dependency-remove",
    ),
    path("sites/", views_sites.sites, name="catalog-sites"),
    path("sites/new/", views_sites.site_create, name="catalog-site-create"),
    path("sites/<int:site_id>/edit/", views_sites.site_edit, name="catalog-site-edit"),
    path("regions/new/", views_sites.region_create, name="catalog-region-create"),
    path("regions/<int:region_id>/edit/", views_sites.region_edit, name="catalog-region-edit"),
    path("exceptions/", views_legacy.exceptions, name="catalog-exceptions"),
    path("exceptions/request/", views_legacy.exception_request, name="catalog-exception-request"),
    path("exceptions/<int:exception_id>/approve/", views_legacy.exception_approve, name="catalog-exception-approve"),
    path("recovery/", views_recovery.recovery, name="catalog-recovery"),
    path("critical-personnel/", views_recovery.personnel, name="catalog-personnel"),
]
