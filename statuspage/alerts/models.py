"""Notification channels of a team, the events worth telling, and the outbox that tells them.

An `Event` is what happened (unique by its key, so a redelivered task records it once); a
`Notification` is the outbox row saying "this channel must hear of that event" (unique per
event and channel, written in the transaction that recorded the event); a `Delivery` is one
message actually sent to a channel, grouping one or more notifications, with the
idempotency key the receiver sees on every attempt.
"""

import uuid
from urllib.parse import urlsplit

from django.db import models

from checks.sealing import MASK, SecretUnreadable, is_sealed, seal_text, unseal_text
from statuspage.catalog.models import Team, Tier


class EventKind(models.TextChoices):
    DOWN = "down", "Down"
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    HEARTBEAT_LATE = "heartbeat_late", "Heartbeat late"
    DEPLOY_REGRESSED = "deploy_regressed", "Deployment regressed"
    INCIDENT_PUBLISHED = "incident_published", "Incident published"
    INCIDENT_UPDATED = "incident_updated", "Incident updated"
    MAINTENANCE_STARTED = "maintenance_started", "Maintenance started"
    MAINTENANCE_ENDED = "maintenance_ended", "Maintenance ended"
    FLAPPING = "flapping", "Flapping"
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Escalation"
    TEST = "test", "Test message"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook (Standard Webhooks)"
    SLACK = "slack", "Slack-compatible incoming webhook"
    APPRISE = "apprise", "Apprise URL"


class SealedTextField(models.TextField):
    """Text encrypted at rest (checks.sealing). The Python value stays sealed after a read;
    `Channel.target_value()` and `Channel.secret_value()` open it where it is used."""

    def get_db_prep_save(self, value, connection):
        if isinstance(value, str) and value and not is_sealed(value):
            value = seal_text(value)
        return super().get_db_prep_save(value, connection)


def mask_target(kind: str, text: str) -> str:
    """A target as anyone may see it: addresses of an email channel, scheme and host of a
    URL (its path and query carry tokens), only the scheme of an Apprise URL."""
    if not text:
        return ""
    try:
        text = unseal_text(text)
    except SecretUnreadable:
        return MASK
    if kind == ChannelKind.EMAIL:
        return text
    parts = urlsplit(text.split()[0] if text.split() else text)
    if kind == ChannelKind.APPRISE or not parts.hostname:
        return f"{parts.scheme}://{MASK}" if parts.scheme else MASK
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{MASK}"


class Channel(models.Model):
    """Where a team hears of its services: an address list, a signed webhook, a Slack-style
    incoming webhook or an Apprise URL. Targets and signing secrets are sealed at rest."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = SealedTextField(
        blank=True,
        help_text="Email addresses (comma separated), the webhook URL, or the Apprise URL.",
    )
    signing_secret = SealedTextField(blank=True, help_text="Webhook only: whsec_<base64>.")
    target_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable the target was read from."
    )
    events = models.JSONField(
        default=list, blank=True, help_text="Event kinds this channel hears; empty: all."
    )
    min_tier = models.CharField(
        max_length=10,
        choices=Tier.choices,
        default=Tier.LOW,
        help_text="Only services of this tier or a more critical one.",
    )
    escalation = models.BooleanField(
        default=False, help_text="Used only when an unacknowledged alert escalates."
    )
    remind_every_s = models.PositiveIntegerField(
        "remind every (s)", null=True, blank=True, help_text="Empty: never remind."
    )
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_reason = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="alert_channel_team_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def target_value(self) -> str:
        return unseal_text(self.target)

    def secret_value(self) -> str:
        return unseal_text(self.signing_secret)

    def masked(self) -> str:
        return mask_target(self.kind, self.target)


class ServiceChannel(models.Model):
    """A channel added to one service; with `replace` the service's own channels are used
    instead of its team's."""

    service = models.ForeignKey(
        "catalog.Service", on_delete=models.CASCADE, related_name="alert_channels"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="services")
    replace = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "channel"], name="alert_service_channel_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} -> {self.channel_id}"


class Event(models.Model):
    """Something worth telling, recorded once: `key` names what happened (a transition of
    a check at a slot, a deployment's verdict, an incident update)."""

    kind = models.CharField(max_length=20, choices=EventKind.choices)
    key = models.CharField(max_length=200, unique=True)
    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    check_ref = models.ForeignKey(
        "checks.Check",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_column="check_id",
        db_index=False,  # alert_event_check_time leads with it
    )
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    maintenance = models.ForeignKey(
        "incidents.Maintenance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployment = models.ForeignKey(
        "catalog.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField()
    # What the message shows, as it was when the event happened.
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # A service's recent events (service page, acknowledgement, flapping).
            models.Index(fields=["service", "-occurred_at"], name="alert_event_service_time"),
            # A check's newest state event (statuspage.alerts.events.last_announced): the
            # first matching entry, however long the check's history.
            models.Index(
                fields=["check_ref", "-occurred_at", "-id"], name="alert_event_check_time"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    DEAD = "dead", "Dead"
    SUPPRESSED = "suppressed", "Suppressed"
    # Folded into another notification's message without a message of its own.
    GROUPED = "grouped", "Grouped"


class Notification(models.Model):
    """The outbox row: `channel` must hear of `event`. Written in the event's transaction."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    delivery = models.ForeignKey(
        "Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel"], name="alert_notification_event_channel"
            ),
        ]
        indexes = [
            # Delivery claim: a channel's notifications not yet in a message, oldest first.
            models.Index(
                fields=["channel", "created_at"],
                name="alert_notification_unclaimed",
                condition=models.Q(state="pending", delivery__isnull=True),
            ),
            # The /alerts/ page: a channel's notifications, newest first.
            models.Index(fields=["channel", "-created_at"], name="alert_notification_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.channel_id}"


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    DEAD = "dead", "Dead"


def new_delivery_key() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Delivery(models.Model):
    """One message to one channel. `key` is fixed when the row is created and sent on every
    attempt (the webhook-id), so a receiver can drop a repeat after a crash."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    key = models.CharField(max_length=40, unique=True, default=new_delivery_key, editable=False)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    # Queued/retrying: when the next attempt is due. Sending: when the sender's lease ends
    # and another worker may take the delivery over (the sender is presumed dead).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            # Claim and sweep: deliveries still to be sent, by the time they are due.
            models.Index(
                fields=["channel", "next_attempt_at"],
                name="alert_delivery_due",
                condition=models.Q(state__in=["queued", "sending", "retrying"]),
            ),
            # Alerts page and /ready: a channel's recent deliveries; dead letters.
            models.Index(fields=["channel", "-created_at"], name="alert_delivery_recent"),
            models.Index(
                fields=["-created_at"], name="alert_delivery_dead", condition=models.Q(state="dead")
            ),
        ]

    def __str__(self) -> str:
        return self.key


# Acknowledgements and flapping state live in their own module; imported here so that
# they belong to this app.
from statuspage.alerts.ack_models import Ack, AckVia, Flap  # noqa: E402, F401

# Public subscribers live in their own module; importing them here registers them.
from statuspage.alerts.subscribers import MailKind, MailState, Subscriber, SubscriberMail  # noqa: E402, F401
