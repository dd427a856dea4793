"""The public status and incident pages, feeds and badges (no login), mounted at /status/."""

from django.urls import path, re_path

from statuspage.web import badges, feeds, public_views

urlpatterns = [
    path("", public_views.status_page, name="public-status"),
    path("history/", public_views.history, name="public-history"),
    path("history/<int:year>/<int:month>/", public_views.history, name="public-history-month"),
    path("incidents/<int:pk>/", public_views.incident_page, name="public-incident"),
    path("maintenance/<int:pk>/", public_views.maintenance_page, name="public-maintenance"),
    re_path(
        r"^groups/(?P<group_id>g[0-9a-f]{11})/bars/$",
        public_views.group_bars,
        name="public-group-bars",
    ),
    path("feed.atom", feeds.atom_feed, name="public-feed-atom"),
    path("feed.rss", feeds.rss_feed, name="public-feed-rss"),
    path("badge/<slug:slug>.svg", badges.status_badge, name="public-badge-status"),
    path("badge/<slug:slug>/uptime.svg", badges.uptime_badge, name="public-badge-uptime"),
]
