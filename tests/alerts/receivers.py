"""Local receivers the notification tests send to, each on a free port of this machine.

- `SmtpReceiver`: a real SMTP server (aiosmtpd) keeping every message it accepted.
- `HttpReceiver`: one aiohttp server playing a receiver of a given `mode`:
  ``webhook`` verifies the Standard Webhooks signature with the `standardwebhooks` package
  and counts unique webhook-ids; ``slack`` accepts only Slack-shaped JSON (text and/or
  Block Kit blocks) and answers ``ok`` as Slack does; ``json`` takes what Apprise's
  ``json://`` and ``form://`` URLs post.
  Answers follow a script (e.g. 500 then 200, a 429 with Retry-After) and may be held
  back for a while after the request was recorded, which is how a test kills a sender
  between "the receiver accepted" and "the sender marked it sent".
"""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class SmtpReceiver:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(port=free_port())
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


# --- HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0  # wait this long after recording the request before answering


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: Any
    verified: bool
    at: float
    status: int = 200  # what the receiver answered (or is about to, when holding)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")


@dataclass
class HttpReceiver:
    mode: str  # webhook | slack | json
    secret: str = ""
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/T000/B000/secret-token"

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests with these, then with `default`."""
        with self.lock:
            self.script.extend(answers)

    def accepted(self) -> list[Received]:
        """Requests with a valid payload (and signature) that were answered 2xx."""
        return [r for r in self.requests if r.verified and 200 <= r.status < 300]

    def unique_ids(self) -> set[str]:
        return {r.webhook_id for r in self.accepted() if r.webhook_id}

    def _check(self, headers: dict[str, str], body: bytes) -> tuple[Any, bool]:
        if self.mode == "webhook":
            try:
                return Webhook(self.secret).verify(body, headers), True
            except (WebhookVerificationError, ValueError):
                return None, False
        if self.mode == "slack":
            try:
                payload = json.loads(body)
            except ValueError:
                return None, False
            blocks = payload.get("blocks")
            shaped = isinstance(payload, dict) and (
                isinstance(payload.get("text"), str) or isinstance(blocks, list)
            )
            if isinstance(blocks, list):
                shaped = shaped and all(isinstance(b, dict) and "type" in b for b in blocks)
            return payload, shaped
        try:
            return json.loads(body), True
        except ValueError:
            return body.decode(errors="replace"), True

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        payload, verified = self._check(headers, body)
        with self.lock:
            answer = self.script.pop(0) if self.script else self.default
            status = answer.status if verified else 400
            self.requests.append(Received(headers, body, payload, verified, time.time(), status))
        if answer.hold_s:
            await asyncio.sleep(answer.hold_s)
        if not verified:
            return web.Response(status=400, text="invalid payload or signature")
        text = "ok" if self.mode == "slack" else json.dumps({"status": answer.status})
        return web.Response(status=answer.status, headers=answer.headers, text=text)


@contextmanager
def http_receiver(mode: str, *, secret: str = "") -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(mode=mode, secret=secret, port=free_port())
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", receiver.port, backlog=1024).start()
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    started.wait(10)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
