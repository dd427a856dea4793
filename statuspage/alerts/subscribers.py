"""Public subscribers of the status page and their outbox rows.

Teams own channels; a visitor of the public page is not a team and gets no channel. A
subscriber's mail therefore has an outbox row of its own, ``SubscriberMail``, written in
the same transaction as the event it announces (unique per event and subscriber, like a
``Notification`` is per event and channel) and sent by its own task with the same rules:
the row and its fixed ``key`` commit before the network call, a crash between the SMTP
server's acceptance and "sent" sends again with the same ``Message-ID``, retries back off,
the last failure leaves a dead letter with its reason.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from statuspage.catalog.models import Service


def _nonce() -> str:
    return secrets.token_urlsafe(12)


def _mail_key() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Subscriber(models.Model):
    """An address that asked for incident and maintenance mail.

    The row exists from the first request; nothing but the confirmation mail is sent to it
    until ``confirmed_at`` is set. The choice of components is written at confirmation, from
    the signed link, so an unconfirmed request can never change what a confirmed address
    receives. ``nonce`` is part of every link: a new one makes every older link void.
    """

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased
    all_components = models.BooleanField(default=True)
    services = models.ManyToManyField(Service, related_name="subscribers", blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    nonce = models.CharField(max_length=32, default=_nonce)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Fan-out: the confirmed subscribers of every component.
            models.Index(
                fields=["all_components"],
                name="subscriber_confirmed_all",
                condition=models.Q(confirmed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.email


class MailKind(models.TextChoices):
    CONFIRM = "confirm", "Confirmation"
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Maintenance"


class MailState(models.TextChoices):
    PENDING = "pending", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    DEAD = "dead", "Dead"


class SubscriberMail(models.Model):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="mails")
    event = models.ForeignKey(
        "alerts.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=MailKind.choices)
    # The Message-ID: fixed at creation, the same on every attempt of this mail.
    key = models.CharField(max_length=40, unique=True, default=_mail_key)
    # What the mail says, public facts only, snapshotted when the row is written.
    context = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=MailState.choices, default=MailState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"],
                name="subscriber_mail_once",
                condition=models.Q(event__isnull=False),
            )
        ]
        indexes = [
            # The sender's claim and the sweep: unsent mail by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="subscriber_mail_due",
                condition=models.Q(state__in=["pending", "retrying", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to subscriber {self.subscriber_id}: {self.state}"
