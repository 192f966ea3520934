"""Routes of the engine page, mounted at /admin/engine/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.engine_page, name="engine"),
    path("retry/", views.retry, name="engine-retry"),
]
