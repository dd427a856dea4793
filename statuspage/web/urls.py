"""Team pages (login required)."""

from django.urls import path

from statuspage.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
