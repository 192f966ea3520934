"""Routes of the catalog pages."""

urlpatterns = []
