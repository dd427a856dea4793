"""Incidents and scheduled maintenance, as the public status page and its API show them.

Field names and values follow the common status-page format (impact none/minor/major/
critical; incident status investigating/identified/monitoring/resolved/postmortem;
maintenance status scheduled/in_progress/verifying/completed) so the JSON API can map
them one to one.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

# What an incident or maintenance window puts an affected service in is the engine's
# component status, so a measured and a declared status are one set of values.
from checks.status import ComponentStatus as ComponentStatus
from statuspage.catalog.models import Service


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


class Incident(models.Model):
    title = models.CharField(max_length=200)
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.MINOR)
    status = models.CharField(
        max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING
    )
    # Drafts are visible to the team only; publishing shows them on the public page.
    is_published = models.BooleanField("published", default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    postmortem = models.TextField(blank=True, help_text="Markdown. Rendered sanitized.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("write_incident", "Can open and update incidents on the team site")]
        indexes = [
            # Public page and history: published incidents by start time.
            models.Index(
                fields=["-started_at"],
                name="incident_published_time",
                condition=models.Q(is_published=True),
            ),
            # Unresolved incidents (banner, active list).
            models.Index(fields=["status"], name="incident_status"),
        ]

    def __str__(self) -> str:
        return self.title


class IncidentService(models.Model):
    """A service affected by an incident, and the status the incident puts it in."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incidents")
    component_status = models.CharField(
        max_length=25, choices=ComponentStatus.choices, default=ComponentStatus.PARTIAL_OUTAGE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "service"], name="incident_service_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.component_status}"


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=IncidentStatus.choices)
    body = models.TextField(help_text="Markdown. Rendered sanitized.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # An incident's timeline, newest first.
            models.Index(fields=["incident", "-created_at"], name="incident_update_time"),
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.created_at:%Y-%m-%d %H:%M}"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


class Maintenance(models.Model):
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=15, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    services = models.ManyToManyField(Service, related_name="maintenances", blank=True)
    is_published = models.BooleanField("published", default=True)
    # Move to in_progress at scheduled_for and to completed at scheduled_until by itself.
    auto_start = models.BooleanField(default=True)
    auto_complete = models.BooleanField(default=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_for"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scheduled_until__gt=models.F("scheduled_for")),
                name="maintenance_window_order",
            )
        ]
        indexes = [
            # The periodic task and the public page: windows by status and start.
            models.Index(fields=["status", "scheduled_for"], name="maintenance_status_time"),
            # "Was this service under maintenance at time t?" (uptime accounting).
            models.Index(fields=["scheduled_for", "scheduled_until"], name="maintenance_window"),
        ]

    def __str__(self) -> str:
        return self.title


class MaintenanceUpdate(models.Model):
    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=MaintenanceStatus.choices)
    body = models.TextField(help_text="Markdown. Rendered sanitized.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["maintenance", "-created_at"], name="maintenance_update_time"),
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.created_at:%Y-%m-%d %H:%M}"
