"""The service catalog: who owns what, what healthy looks like, and what changed."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Team(models.Model):
    """The owner of services: who to call, where to talk, how to escalate."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    contact_email = models.EmailField(blank=True)
    chat_channel = models.CharField(max_length=100, blank=True, help_text="e.g. #payments-oncall")
    escalation_note = models.TextField(blank=True, help_text="Who to page when nobody answers.")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    history = HistoricalRecords(excluded_fields=["members"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tier(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


# Sort key for "worst first, then by tier" listings.
TIER_RANK = {Tier.CRITICAL: 0, Tier.HIGH: 1, Tier.NORMAL: 2, Tier.LOW: 3}


class Service(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.NORMAL)
    component_group = models.CharField(
        max_length=100, blank=True, help_text="Groups services on the public page."
    )
    is_public = models.BooleanField(
        "public", default=False, help_text="Shown on the public status page."
    )
    public_name = models.CharField(max_length=120, blank=True)
    public_description = models.TextField(blank=True)
    is_paused = models.BooleanField(
        "paused", default=False, help_text="Checks stop and no notifications are sent."
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "name"]
        indexes = [
            # Team page filter: the services of one team in display order.
            models.Index(fields=["team", "position"], name="service_team_position"),
            # Public page: public services by component group in display order.
            models.Index(
                fields=["component_group", "position"],
                name="service_public_group",
                condition=models.Q(is_public=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_public_name(self) -> str:
        return self.public_name or self.name


@dataclass(frozen=True)
class Link:
    title: str
    url: str


_LINK_LINE = re.compile(r"^(?P<title>.*?)\s*(?P<url>https?://\S+)$")
_url_validator = URLValidator(schemes=["http", "https"])


def parse_links(text: str) -> list[Link]:
    """One link per line: an optional title followed by an http(s) URL."""
    links = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _LINK_LINE.match(line)
        if not match:
            raise ValidationError(f"line {number}: expected 'Title https://…', got {line!r}")
        url = match["url"]
        try:
            _url_validator(url)
        except ValidationError:
            raise ValidationError(f"line {number}: {url!r} is not a valid URL") from None
        links.append(Link(title=match["title"].rstrip(" :-|") or url, url=url))
    return links


def validate_links(text: str) -> None:
    parse_links(text)


class OwnerNote(models.Model):
    """What the owners say about their service, kept beside the signal, with history."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="owner_note")
    expected_result = models.TextField(
        blank=True, help_text="What healthy looks like, e.g. 'GET /health returns ok in <200 ms'."
    )
    rollback_note = models.TextField(blank=True, help_text="How to undo the last deployment.")
    runbook = models.TextField(blank=True, help_text="Markdown. Rendered sanitized.")
    links = models.TextField(
        blank=True,
        validators=[validate_links],
        help_text="One per line: a title then an http(s) URL (dashboards, logs, repository).",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        # The service's name when it is loaded already (the admin loads it), never a query.
        if OwnerNote.service.is_cached(self):
            return self.service.name
        return f"service {self.service_id}"

    @property
    def link_list(self) -> list[Link]:
        return parse_links(self.links)


class DeploymentSource(models.TextChoices):
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    API = "api", "API"


class Deployment(models.Model):
    """A change record: what was deployed, by whom, why, and what should move."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="deployments")
    version = models.CharField(max_length=100)
    ref = models.CharField(max_length=200, blank=True, help_text="Commit or tag.")
    deployed_at = models.DateTimeField(default=timezone.now)
    deployed_by = models.CharField(max_length=150, help_text="Person or pipeline.")
    reason = models.TextField(blank=True)
    files_touched = models.TextField(blank=True)
    command = models.TextField(blank=True, help_text="The command used to deploy.")
    expected_metric = models.CharField(
        max_length=200, blank=True, help_text="The metric expected to move, e.g. 'p95 latency'."
    )
    source = models.CharField(
        max_length=10, choices=DeploymentSource.choices, default=DeploymentSource.ADMIN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deployed_at"]
        indexes = [
            # Last deployment of a service, and a service's deployments in a time range.
            models.Index(fields=["service", "-deployed_at"], name="deployment_service_time"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.version}"
