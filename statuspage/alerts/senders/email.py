"""Email through Django's mail backend (SMTP from the environment, files when embedded).

A plain-text body with an HTML alternative. The delivery key becomes the Message-ID, so a
repeat after a crash threads as the same message in mail clients.
"""

import logging
import smtplib

from django.core.mail import EmailMultiAlternatives, mailers

from statuspage.alerts.senders.base import Permanent, Retryable

logger = logging.getLogger(__name__)


def addresses_of(target: str) -> list[str]:
    return [part.strip() for part in target.replace(";", ",").split(",") if part.strip()]


def send(channel, message, *, key: str) -> None:
    connection = mailers.default
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=addresses_of(channel.target_value()),
        headers={"Message-ID": f"<{key}@statuspage>", "X-Statuspage-Delivery": key},
        connection=connection,
    )
    if message.html:
        mail.attach_alternative(message.html, "text/html")
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused:
        raise Permanent("every recipient was refused") from None
    except smtplib.SMTPResponseException as exc:
        reason = f"SMTP {exc.smtp_code}"
        if 400 <= exc.smtp_code < 500:
            raise Retryable(reason) from None
        raise Permanent(reason) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise Retryable(f"mail server unreachable: {type(exc).__name__}") from None
    folder = getattr(connection, "file_path", None)
    if folder:
        # The embedded default has no mail server: say where the message went instead.
        logger.info("event=alert.mail_written folder=%s key=%s", folder, key)
