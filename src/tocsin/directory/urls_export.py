"""Routes for the offline contact list downloads (mounted at /directory/exports/)."""

from django.urls import path

from . import export_views

urlpatterns = [
    path("", export_views.exports, name="directory-exports"),
    path("pdf/", export_views.export_pdf, name="directory-export-pdf"),
    path("encrypted/", export_views.export_encrypted, name="directory-export-encrypted"),
]
