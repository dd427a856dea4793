from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from checks.metrics import checks_exposition
from statuspage.alerts import urls as alerts_urls
from statuspage.alerts.metrics import outbox_exposition
from statuspage.api import pings
from statuspage.core import views as core_views
from statuspage.core.metrics import metrics_view
from statuspage.web.favicon import favicon

# Error answers that need neither the database nor the session's user.
handler400 = "statuspage.core.errors.handler400"
handler500 = "statuspage.core.errors.handler500"

admin.site.site_header = "Status dashboard admin"
admin.site.site_title = "Status dashboard"

urlpatterns = [
    path("health", core_views.health, name="health"),
    path("ready", core_views.ready, name="ready"),
    path(
        "metrics",
        metrics_view(cached=[checks_exposition], live=[outbox_exposition]),
        name="metrics",
    ),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("ping/<uuid:ping_uuid>", pings.ping_success, name="ping"),
    path("ping/<uuid:ping_uuid>/start", pings.ping_start, name="ping-start"),
    path("ping/<uuid:ping_uuid>/fail", pings.ping_fail, name="ping-fail"),
    path("ping/<uuid:ping_uuid>/<int:exit_status>", pings.ping_exit, name="ping-exit"),
    path("api/", include("statuspage.api.urls")),
    path("ack/", include("statuspage.alerts.ack_urls")),
    path("status/subscribe/", include(alerts_urls.public_urlpatterns)),
    path("status/", include("statuspage.web.public_urls")),
    path("alerts/", include("statuspage.alerts.urls")),
    path("incidents/", include("statuspage.web.incident_urls")),
    path("admin/", admin.site.urls),
    path("", include("statuspage.web.urls")),
]
