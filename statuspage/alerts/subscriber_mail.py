"""Sending subscriber mail: claim a row, send it, record the outcome.

1. Claim: under a row lock that skips rows another worker holds, a due row moves to
   ``sending`` with a lease and one more attempt, and that commits before the SMTP
   conversation, so the network call never runs inside a transaction.
2. Send through Django's mail backend with ``Message-ID`` set from the row's fixed key.
3. Record: ``sent``; or ``retrying`` with a backed-off time; or ``dead`` with the reason.

A worker that dies between the server's acceptance and step 3 leaves the row ``sending``;
when its lease ends the sweep sends it again with the same Message-ID, which mail clients
use to show one message. A row already ``sent`` is never claimed again.
"""

import logging
import smtplib
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from statuspage.alerts.delivery import backoff_s, max_attempts, setting
from statuspage.alerts.senders.base import Permanent, Retryable
from statuspage.alerts.subscribers import MailKind, MailState, SubscriberMail
from statuspage.alerts.subscriptions import mail_links
from statuspage.core.markdown import render_markdown

logger = logging.getLogger(__name__)

SUBJECTS = {
    MailKind.CONFIRM: "Confirm your subscription to {page}",
    MailKind.INCIDENT: "[{page}] {title}",
    MailKind.MAINTENANCE: "[{page}] Maintenance {what}: {title}",
}


def lease() -> timedelta:
    return timedelta(seconds=setting("ALERTS_SENDING_LEASE_S"))


def claim(mail_id: int, *, now: datetime) -> SubscriberMail | None:
    with transaction.atomic():
        mail = (
            SubscriberMail.objects.select_for_update(skip_locked=True)
            .select_related("subscriber")
            .filter(
                pk=mail_id,
                state__in=[MailState.PENDING, MailState.RETRYING, MailState.SENDING],
                next_attempt_at__lte=now,
            )
            .first()
        )
        if mail is None:
            return None
        mail.state = MailState.SENDING
        mail.attempts += 1
        # The sender's lease, as for channel deliveries: past it the sweep takes over.
        mail.next_attempt_at = now + lease()
        mail.save(update_fields=["state", "attempts", "next_attempt_at"])
    return mail


def _when(value: str | None) -> datetime | None:
    parsed = parse_datetime(value) if value else None
    return timezone.localtime(parsed) if parsed else None


def build(mail: SubscriberMail) -> EmailMultiAlternatives:
    # Times read in the public page's zone, as on the page the mail links to.
    zone = settings.STATUS_PAGE.get("time_zone") or "Etc/UTC"
    with timezone.override(ZoneInfo(zone)):
        return _build(mail)


def _build(mail: SubscriberMail) -> EmailMultiAlternatives:
    context = {
        **mail.context,
        "page_name": settings.STATUS_PAGE.get("name", "Status"),
        "links": mail_links(mail),
        "at": _when(mail.context.get("at")),
        "scheduled_for": _when(mail.context.get("scheduled_for")),
        "scheduled_until": _when(mail.context.get("scheduled_until")),
        "time_zone": timezone.get_current_timezone_name(),
    }
    context["body_html"] = render_markdown(mail.context.get("body", ""), top_heading=3)
    subject = SUBJECTS[mail.kind].format(
        page=context["page_name"], title=context.get("title", ""), what=context.get("what", "")
    )
    template = f"alerts/public/mail_{mail.kind}"
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " "),
        body=render_to_string(f"{template}.txt", context),
        to=[mail.subscriber.email],
        headers={
            "Message-ID": f"<{mail.key}@{DNS_NAME}>",
            # One-click unsubscribe from the mail client itself (RFC 8058).
            "List-Unsubscribe": f"<{context['links']['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def _built(mail: SubscriberMail) -> EmailMultiAlternatives:
    try:
        return build(mail)
    except Exception as exc:
        # A mail that cannot be rendered now never will be: a dead letter that says so,
        # rather than a row retried for ever.
        raise Permanent(f"the mail could not be rendered: {type(exc).__name__}") from None


def _send(message: EmailMultiAlternatives, connection) -> None:
    try:
        connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise Permanent(f"recipient refused ({codes[0]})") from None
        raise Retryable(f"recipient deferred ({codes[0]})") from None
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise Permanent(f"SMTP {exc.smtp_code}") from None
        raise Retryable(f"SMTP {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise Retryable(type(exc).__name__) from None


def _record(mail: SubscriberMail, *, outcome: str, reason: str, now: datetime) -> None:
    fields = {"state": MailState.SENT, "sent_at": now, "last_error": ""}
    # The retry rules of every delivery (statuspage.alerts.delivery).
    if outcome == "retry" and mail.attempts < max_attempts():
        wait = timedelta(seconds=backoff_s(mail.attempts))
        fields = {"state": MailState.RETRYING, "next_attempt_at": now + wait}
    elif outcome != "sent":
        fields = {"state": MailState.DEAD}
    if outcome != "sent":
        fields["last_error"] = reason[:300]
    # Only the claim this worker holds is settled: a sweep that took the row over after
    # the lease ended owns it now.
    SubscriberMail.objects.filter(
        pk=mail.pk, state=MailState.SENDING, attempts=mail.attempts
    ).update(**fields)
    mail.state = fields["state"]


def mail_send(mail_id: int, *, connection=None) -> str:
    """Send one subscriber mail if it is due; the outcome ("skipped", "sent", "retrying",
    "dead")."""
    mail = claim(mail_id, now=timezone.now())
    if mail is None:
        return "skipped"
    started = time.monotonic()
    outcome, reason = "sent", ""
    try:
        _send(_built(mail), connection or mailers.default)
    except Retryable as exc:
        outcome, reason = "retry", str(exc)
    except Permanent as exc:
        outcome, reason = "permanent", str(exc)
    _record(mail, outcome=outcome, reason=reason, now=timezone.now())
    logger.info(
        "event=alert.delivery channel_kind=subscriber mail_kind=%s attempt=%d outcome=%s ms=%.1f",
        mail.kind,
        mail.attempts,
        mail.state,
        (time.monotonic() - started) * 1000,
    )
    return mail.state


def due_mail_ids(*, now: datetime, limit: int = 1000) -> list[int]:
    """Rows a sender should take: queued, due for a retry, or whose sender's lease ended."""
    return list(
        SubscriberMail.objects.filter(
            state__in=[MailState.PENDING, MailState.RETRYING, MailState.SENDING],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
