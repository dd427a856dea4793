from django.urls import path

from statuspage.alerts import ack_views

urlpatterns = [
    path("<slug:slug>/<str:token>/", ack_views.ack_link, name="alert-ack"),
    path("<slug:slug>/", ack_views.ack_service, name="alert-ack-service"),
]
