"""Routes of the oncall pages."""

urlpatterns = []
