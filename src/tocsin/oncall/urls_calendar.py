"""Routes of the iCal feeds and calendar import."""

urlpatterns = []
