"""Alert state kept beside the outbox: acknowledgements and flapping checks.

Imported by statuspage.alerts.models so both live in the alerts app.
"""

from django.conf import settings
from django.db import models


class AckVia(models.TextChoices):
    PAGE = "page", "Team or service page"
    LINK = "link", "Link in the message"


class Ack(models.Model):
    """Someone took a down service in hand: reminders and escalation stop until it recovers."""

    service = models.ForeignKey(
        "catalog.Service", on_delete=models.CASCADE, related_name="alert_acks"
    )
    # The alert that was acknowledged (the down event, or the reminder that carried the link).
    event = models.ForeignKey("alerts.Event", on_delete=models.CASCADE, related_name="acks")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(max_length=4, choices=AckVia.choices)
    at = models.DateTimeField()
    # Set when the service recovers: the next outage needs a new acknowledgement.
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open acknowledgement per service: two people clicking at once, one wins.
            models.UniqueConstraint(
                fields=["service"],
                condition=models.Q(ended_at__isnull=True),
                name="alert_ack_one_open_per_service",
            ),
            # A link in a message acknowledges once; a second click finds it used.
            models.UniqueConstraint(
                fields=["event"],
                condition=models.Q(via="link"),
                name="alert_ack_link_once",
            ),
        ]

    def __str__(self) -> str:
        return f"service {self.service_id} acknowledged at {self.at:%Y-%m-%d %H:%M}"

    @property
    def by_label(self) -> str:
        if self.by_id is not None and Ack.by.is_cached(self) and self.by is not None:
            return self.by.get_username()
        return "a link in the message" if self.via == AckVia.LINK else "someone"


class Flap(models.Model):
    """A check that changed state too often: one "flapping" message, then quiet until it
    has stayed in one state for ALERTS_FLAP_MINUTES."""

    check_ref = models.ForeignKey(
        "checks.Check", on_delete=models.CASCADE, related_name="+", db_column="check_id"
    )
    since = models.DateTimeField()
    last_transition_at = models.DateTimeField()
    transitions = models.PositiveIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A check flaps once at a time; the transition write holds the check's row lock.
            models.UniqueConstraint(
                fields=["check_ref"],
                condition=models.Q(ended_at__isnull=True),
                name="alert_flap_one_open_per_check",
            ),
        ]
        indexes = [
            # The stability sweep: open flaps whose last change is old enough.
            models.Index(
                fields=["last_transition_at"],
                name="alert_flap_open",
                condition=models.Q(ended_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"check {self.check_ref_id} flapping since {self.since:%Y-%m-%d %H:%M}"
