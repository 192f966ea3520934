"""Routes of the schedule pages."""

urlpatterns = []
