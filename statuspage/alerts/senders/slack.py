"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): Block Kit JSON.

These receivers take no idempotency key, so the only repeat they can see is the one after a
crash between their answer and the delivery being marked sent, which is rare.
"""

import json

import aiohttp

from statuspage.alerts.senders import http


def body_of(message) -> bytes:
    payload = dict(message.slack) if message.slack else {}
    payload.setdefault("text", message.subject)
    return json.dumps(payload, separators=(",", ":")).encode()


async def asend(channel, message, *, key: str, session: aiohttp.ClientSession) -> None:
    await http.post(session, channel.target_value(), body_of(message), {})


def send(channel, message, *, key: str) -> None:
    http.run(lambda session: asend(channel, message, key=key, session=session))
