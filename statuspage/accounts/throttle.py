"""Login throttling and the security log of sign-in events.

Failures are counted per (username, client address) in the cache. Past the limit the pair
is refused for the rest of the window even with the right password, which stops online
guessing without letting anyone lock a user out from every address.
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

security_log = logging.getLogger("statuspage.security")


def _client_address(request: HttpRequest | None) -> str:
    if request is None:
        return "-"
    return request.META.get("REMOTE_ADDR", "-")


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def login_is_locked(*, username: str, address: str) -> bool:
    return (cache.get(_key(username, address)) or 0) >= settings.LOGIN_FAILURE_LIMIT


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and login_is_locked(username=username, address=_client_address(request)):
            security_log.warning(
                "event=login.locked username=%s address=%s", username, _client_address(request)
            )
            # PermissionDenied ends authentication for every backend.
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)


def _failure_count(key: str) -> int:
    """Count one more failure under ``key``; the window runs from the first failure.

    The count goes up with the cache's atomic incr, so concurrent guesses all count. Not
    every cache keeps a key's expiry on incr (the file cache of the embedded default resets
    it to its default timeout), so the window's end is kept beside the count and the
    count's expiry is set from it again after each increment.
    """
    window = settings.LOGIN_FAILURE_WINDOW_S
    now = time.time()
    if cache.add(key, 1, timeout=window):
        cache.set(f"{key}:ends", now + window, timeout=window)
        return 1
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        cache.set(f"{key}:ends", now + window, timeout=window)
        return 1
    ends = cache.get(f"{key}:ends") or now + window
    cache.touch(key, max(1, math.ceil(ends - now)))
    return failures


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))
    address = _client_address(request)
    failures = _failure_count(_key(username, address))
    security_log.warning(
        "event=login.failed username=%s address=%s failures=%d", username, address, failures
    )


@receiver(user_logged_in)
def _log_login(sender, request, user, **kwargs) -> None:
    key = _key(user.get_username(), _client_address(request))
    cache.delete_many([key, f"{key}:ends"])
    security_log.info("event=login.ok user_id=%s address=%s", user.pk, _client_address(request))
