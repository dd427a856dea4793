"""Every other service through Apprise URLs (Teams, Discord, Telegram, ntfy, PagerDuty...).

Apprise answers only "sent" or "not sent", so a failure is taken as one that may pass
(`Retryable`); a URL Apprise does not understand is `Permanent`. Apprise's generic HTTP
schemes (json, form, xml) carry the delivery key as an ``Idempotency-Key`` header.
"""

import socket
from urllib.parse import urlsplit

import apprise as apprise_lib

from checks.definitions import allow_private_targets
from checks.screening import TargetRefused, screen_literal, screen_resolved
from statuspage.alerts.senders.base import Permanent, Retryable

GENERIC_HTTP = {"json", "jsons", "form", "forms", "xml", "xmls"}


def with_key(url: str, key: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in GENERIC_HTTP:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}+Idempotency-Key={key}"


def screen(url: str) -> None:
    """Refuse an Apprise URL whose host is an address channels may not reach. Schemes whose
    "host" is a token (discord://id/token) do not resolve and pass: Apprise then talks to
    the provider's own public address."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        raise Permanent("not a valid Apprise URL") from None
    if not host:
        return
    allowlist = allow_private_targets()
    if screen_literal(host, allow_private=allowlist):
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return
    screen_resolved(host, {str(info[4][0]) for info in infos}, allow_private=allowlist)


def valid(url: str) -> bool:
    return apprise_lib.Apprise.instantiate(url) is not None


def send(channel, message, *, key: str) -> None:
    url = channel.target_value()
    try:
        screen(url)
    except TargetRefused as exc:
        raise Permanent(f"target refused: {exc.message}") from None
    notifier = apprise_lib.Apprise()
    if not notifier.add(with_key(url, key)):
        raise Permanent("not a valid Apprise URL")
    if not notifier.notify(title=message.subject, body=message.text):
        raise Retryable("the service did not accept the notification")
