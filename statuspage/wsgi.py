"""The WSGI application: Django's, with heartbeat pings sent through a shorter middleware
chain (MIDDLEWARE less PING_MIDDLEWARE_SKIPPED, in the same order).

Pings are the one request that arrives at machine rate (every job of every team), and the
middleware that serves pages, sessions and signed-in users is most of a small request's
cost. Every other middleware runs for pings exactly as for any request.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

PING_PREFIX = "/ping/"


class PingHandler(WSGIHandler):
    """Django's handler with the ping middleware chain."""

    def load_middleware(self, is_async: bool = False) -> None:
        from django.conf import settings

        full = settings.MIDDLEWARE
        # BaseHandler reads the chain from settings.MIDDLEWARE only; it is swapped for the
        # ping chain while this handler builds it, once, at start-up.
        settings.MIDDLEWARE = ping_middleware(full, settings.PING_MIDDLEWARE_SKIPPED)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def ping_middleware(middleware: list[str], skipped: list[str]) -> list[str]:
    return [path for path in middleware if path not in set(skipped)]


def _application():
    site = get_wsgi_application()
    pings = PingHandler()

    def application(environ, start_response):
        handler = pings if environ.get("PATH_INFO", "").startswith(PING_PREFIX) else site
        return handler(environ, start_response)

    return application


application = _application()
