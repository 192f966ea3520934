"""Routes of the incident pages, mounted at /incidents/."""

from django.urls import path

from . import views_incident, views_list

urlpatterns = [
    path("", views_list.incident_list, name="incidents"),
    path("new/", views_list.incident_create, name="incident-create"),
    path("<int:number>/", views_incident.incident_page, name="incident"),
    path("<int:number>/acknowledge/", views_incident.acknowledge, name="incident-acknowledge"),
    path("<int:number>/unacknowledge/", views_incident.unacknowledge, name="incident-unacknowledge"),
    path("<int:number>/resolve/", views_incident.resolve, name="incident-resolve"),
    path("<int:number>/snooze/", views_incident.snooze, name="incident-snooze"),
    path("<int:number>/escalate/", views_incident.escalate, name="incident-escalate"),
    path("<int:number>/reassign/", views_incident.reassign, name="incident-reassign"),
    path("<int:number>/notes/", views_incident.add_note, name="incident-note"),
    path("<int:number>/security-review/", views_incident.security_review, name="incident-security-review"),
    path("<int:number>/responders/", views_incident.add_responders, name="incident-responders"),
]
