"""Subscriber mail through a real Celery worker killed mid-send: the mail arrives again
under the same Message-ID, and is then recorded sent once."""

import asyncio
import os
import signal
import time
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from statuspage.alerts.subscriber_tasks import subscriber_mails_sweep
from statuspage.alerts.subscribers import MailState, SubscriberMail
from statuspage.alerts.subscriptions import Choice, subscription_request
from tests.alerts.receivers import SmtpReceiver, free_port, wait_until
from tests.checks.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class HoldingSmtp(SmtpReceiver):
    """Keeps the message, then waits before saying 250 while ``hold_s`` is set."""

    hold_s: float = 0.0

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.hold_s)
        return answer


@contextmanager
def holding_smtp(monkeypatch):
    receiver = HoldingSmtp(port=free_port())
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(receiver.port))
    monkeypatch.setenv("EMAIL_USE_TLS", "false")
    try:
        yield receiver
    finally:
        controller.stop()


def test_a_worker_killed_before_recording_sends_again_with_the_same_message_id(
    monkeypatch, settings, team
):
    monkeypatch.setenv("ALERTS_HTTP_TIMEOUT_S", "1")
    monkeypatch.setenv("ALERTS_SENDING_LEASE_S", "2")
    settings.ALERTS_SENDING_LEASE_S = 2
    with holding_smtp(monkeypatch) as smtp:
        smtp.hold_s = 30
        with celery_worker() as worker:
            mail = subscription_request(
                email="nia@example.com",
                choice=Choice(all_components=True),
                base_url="http://status.example.test/",
                now=timezone.now(),
            )
            wait_until(lambda: smtp.messages, timeout=30)  # the server has the message
            children = worker.children()
            os.kill(worker.process.pid, signal.SIGKILL)
            for child in children:
                os.kill(child, signal.SIGKILL)
            worker.process.wait(timeout=10)
        assert SubscriberMail.objects.get().state == MailState.SENDING

        smtp.hold_s = 0
        with celery_worker():
            time.sleep(2.5)  # past the dead sender's lease
            assert subscriber_mails_sweep() == 1
            wait_until(lambda: SubscriberMail.objects.get().state == MailState.SENT, timeout=30)
            assert subscriber_mails_sweep() == 0  # nothing left: sent is never sent again

    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<{mail.key}@")
    assert SubscriberMail.objects.get().attempts == 2
