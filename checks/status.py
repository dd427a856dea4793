"""A service's status, derived from the states of its checks.

The team pages show the internal status (with "unknown" and "paused"); the public page and
the status-page API show the component status every status-page client understands.
"""

from collections.abc import Iterable
from enum import StrEnum

from django.db import models

from checks.models import State


class ComponentStatus(models.TextChoices):
    """The status-page component status: what the checks measure, and what an incident
    or maintenance window puts an affected service in (``statuspage.incidents``)."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


class ServiceStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    MAINTENANCE = "maintenance"
    PAUSED = "paused"
    UNKNOWN = "unknown"


# Worst first: sorts the team page and picks the overall banner.
SEVERITY = {
    ServiceStatus.MAJOR_OUTAGE: 0,
    ServiceStatus.PARTIAL_OUTAGE: 1,
    ServiceStatus.DEGRADED: 2,
    ServiceStatus.UNKNOWN: 3,
    ServiceStatus.MAINTENANCE: 4,
    ServiceStatus.OPERATIONAL: 5,
    ServiceStatus.PAUSED: 6,
}

COMPONENT = {
    ServiceStatus.OPERATIONAL: ComponentStatus.OPERATIONAL,
    ServiceStatus.DEGRADED: ComponentStatus.DEGRADED_PERFORMANCE,
    ServiceStatus.PARTIAL_OUTAGE: ComponentStatus.PARTIAL_OUTAGE,
    ServiceStatus.MAJOR_OUTAGE: ComponentStatus.MAJOR_OUTAGE,
    ServiceStatus.MAINTENANCE: ComponentStatus.UNDER_MAINTENANCE,
    # Not measured: the public page claims nothing worse than what is known.
    ServiceStatus.PAUSED: ComponentStatus.OPERATIONAL,
    ServiceStatus.UNKNOWN: ComponentStatus.OPERATIONAL,
}


def service_status(
    check_states: Iterable[str], *, paused: bool = False, in_maintenance: bool = False
) -> ServiceStatus:
    """Derive a service's status from its active checks' states.

    Maintenance wins, then paused. Every active check down is a major outage, some down a
    partial outage, any degraded is degraded; all up is operational. Checks whose state is
    unknown or paused do not vote; with no voting check the status is unknown.
    """
    if in_maintenance:
        return ServiceStatus.MAINTENANCE
    if paused:
        return ServiceStatus.PAUSED
    voting = [s for s in check_states if s in (State.UP, State.DEGRADED, State.DOWN)]
    if not voting:
        return ServiceStatus.UNKNOWN
    down = sum(s == State.DOWN for s in voting)
    if down == len(voting):
        return ServiceStatus.MAJOR_OUTAGE
    if down:
        return ServiceStatus.PARTIAL_OUTAGE
    if any(s == State.DEGRADED for s in voting):
        return ServiceStatus.DEGRADED
    return ServiceStatus.OPERATIONAL
