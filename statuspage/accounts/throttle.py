"""Login throttling and the security log of sign-in events.

Failures are counted per (username, client address) and per client address alone, never
per username alone (statuspage/core/counters.py keeps the counts). Past
``LOGIN_FAILURE_LIMIT`` a pair is refused for the rest of the window even with the right
password, which stops online guessing of one account; past ``LOGIN_CLIENT_FAILURE_LIMIT``
the client is refused for every username, which stops guessing across many accounts.
Either lock holds only for the client that earned it, so nobody can lock a user out from
everywhere. The client address comes through trusted proxies only
(statuspage/core/client.py).
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from statuspage.core.client import client_address
from statuspage.core.counters import window_clear, window_count, window_peek

security_log = logging.getLogger("statuspage.security")


def _client(request: HttpRequest | None) -> str:
    return (client_address(request) if request is not None else None) or "-"


def _pair_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def _client_key(address: str) -> str:
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"login-failures-client:{digest}"


def login_lock(*, username: str, address: str) -> str | None:
    """Why sign-ins of ``username`` from ``address`` are refused now, or None."""
    if window_peek(_client_key(address)) >= settings.LOGIN_CLIENT_FAILURE_LIMIT:
        return "address"
    if window_peek(_pair_key(username, address)) >= settings.LOGIN_FAILURE_LIMIT:
        return "user"
    return None


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        address = _client(request)
        if username and (scope := login_lock(username=username, address=address)):
            security_log.warning(
                "event=login.locked username=%s address=%s by=%s", username, address, scope
            )
            # PermissionDenied ends authentication for every backend.
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)


# Signals, not calls: Django's own authentication sends these from every sign-in path (the
# login page, the admin's login), and none of those paths is code of ours to call from.
@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))
    address = _client(request)
    window = settings.LOGIN_FAILURE_WINDOW_S
    failures = window_count(_pair_key(username, address), window_s=window)
    window_count(_client_key(address), window_s=window)
    security_log.warning(
        "event=login.failed username=%s address=%s failures=%d", username, address, failures
    )


@receiver(user_logged_in)
def _log_login(sender, request, user, **kwargs) -> None:
    # Only the pair's count is cleared: one account of its own must not let a client
    # reset its cap while it guesses at others.
    address = _client(request)
    window_clear(_pair_key(user.get_username(), address))
    security_log.info("event=login.ok user_id=%s address=%s", user.pk, address)
