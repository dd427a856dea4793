"""Incident and maintenance forms on the team site, for users with the incident permission."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
