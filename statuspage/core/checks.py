"""System checks that reject unsafe production configuration.

They run with every management command and in `check --deploy`; errors stop the server.
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def production_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if settings.DEBUG:
        return errors
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            checks.Error(
                "ALLOWED_HOSTS contains '*' in production.",
                hint="List the host names the dashboard is served under.",
                id="statuspage.E001",
            )
        )
    if "django.middleware.csp.ContentSecurityPolicyMiddleware" not in settings.MIDDLEWARE:
        errors.append(checks.Error("The CSP middleware is not installed.", id="statuspage.E002"))
    if not settings.SECURE_CSP.get("frame-ancestors"):
        errors.append(checks.Error("SECURE_CSP must set frame-ancestors.", id="statuspage.E003"))
    return errors


@checks.register(checks.Tags.security, deploy=True)
def proxy_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not settings.TRUSTED_PROXIES:
        return [
            checks.Warning(
                "TRUST_X_FORWARDED_PROTO is set (the app is behind a proxy) but "
                "TRUSTED_PROXIES is empty.",
                hint=(
                    "Every client then has the proxy's address: one client's failed sign-ins "
                    "lock a user out for everyone and the per-client ping cap applies to all. "
                    "Set TRUSTED_PROXIES to the proxy's address."
                ),
                id="statuspage.W001",
            )
        ]
    return []
