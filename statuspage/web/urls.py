"""Team pages (login required)."""

from django.urls import path

from statuspage.web import views

urlpatterns = [
    path("", views.team, name="home"),
    path("partials/services/", views.team_rows, name="team-rows"),
    path("services/<slug:slug>/", views.service, name="service"),
    path("account/", views.account, name="account"),
]
