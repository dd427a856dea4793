"""Signed webhooks per the Standard Webhooks spec.

Headers: ``webhook-id`` (the delivery's key: the same on every retry, so the receiver can
drop repeats), ``webhook-timestamp`` (seconds) and ``webhook-signature``
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the base64-decoded part of
the channel's ``whsec_`` secret.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time

import aiohttp

from statuspage.alerts.senders import http

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not a secret)


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def valid_signing_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)) >= 16
    except ValueError:
        return False


def signature(secret: str, key: str, timestamp: int, body: bytes) -> str:
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{key}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(raw, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, key: str, body: bytes, *, now: float | None = None) -> dict:
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, key, timestamp, body),
    }


def body_of(message) -> bytes:
    return json.dumps(message.webhook, separators=(",", ":"), sort_keys=True).encode()


async def asend(channel, message, *, key: str, session: aiohttp.ClientSession) -> None:
    body = body_of(message)
    headers = signed_headers(channel.secret_value(), key, body)
    await http.post(session, channel.target_value(), body, headers)


def send(channel, message, *, key: str) -> None:
    http.run(lambda session: asend(channel, message, key=key, session=session))
