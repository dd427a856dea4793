"""Incident and maintenance forms on the team site, for users with the incident permission."""

from django.urls import path

from statuspage.web import incident_views as views

urlpatterns = [
    path("", views.incident_list, name="incident-list"),
    path("new/", views.incident_new, name="incident-new"),
    path("<int:pk>/", views.incident_detail, name="incident-detail"),
    path("<int:pk>/updates/", views.incident_update, name="incident-update"),
    path("<int:pk>/publish/", views.incident_publish, name="incident-publish"),
    path("<int:pk>/postmortem/", views.incident_postmortem, name="incident-postmortem"),
    path("maintenance/", views.maintenance_list, name="maintenance-list"),
    path("maintenance/new/", views.maintenance_new, name="maintenance-new"),
    path("maintenance/<int:pk>/", views.maintenance_detail, name="maintenance-detail"),
    path("maintenance/<int:pk>/updates/", views.maintenance_update, name="maintenance-update"),
]
