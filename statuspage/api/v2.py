"""The public status-page JSON API (version 2 format understood by status-page clients)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
