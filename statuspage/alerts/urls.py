"""Routes of the alerts app: the team site's /alerts/ page and the public subscription
pages (mounted under /status/subscribe/)."""

from django.urls import path

from statuspage.alerts import public_views, views

urlpatterns = [
    path("", views.alerts, name="alerts"),
    path("channels/<int:pk>/test/", views.channel_test, name="alerts-channel-test"),
]

public_urlpatterns = [
    path("", public_views.subscribe, name="subscribe"),
    path("sent/", public_views.subscribe_sent, name="subscribe-sent"),
    path("confirm/<str:token>/", public_views.subscribe_confirm, name="subscribe-confirm"),
    path("unsubscribe/<str:token>/", public_views.subscribe_cancel, name="subscribe-cancel"),
]
