"""The public status and incident pages (no login), mounted at /status/."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
