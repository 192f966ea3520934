"""Routes: filled in as the directory grows."""

urlpatterns = []
