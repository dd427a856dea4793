"""The overall status of the public page: one rule, the worst component wins.

The banner, summary.json's indicator and the rows drawn below them then always agree. An
incident weighs in through the component status it gives each service it names (which
overrides the measured one), never beside it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from checks.status import ComponentStatus

# Worst first: picks a group's status and an incident override among several.
COMPONENT_RANK = {
    ComponentStatus.MAJOR_OUTAGE: 0,
    ComponentStatus.PARTIAL_OUTAGE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.UNDER_MAINTENANCE: 3,
    ComponentStatus.OPERATIONAL: 4,
}
# The overall indicator of each component status (the worst component's wins).
INDICATOR_OF = {
    ComponentStatus.MAJOR_OUTAGE: "critical",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.UNDER_MAINTENANCE: "none",
    ComponentStatus.OPERATIONAL: "none",
}
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}


@dataclass(frozen=True)
class Overall:
    indicator: str  # none / minor / major / critical
    description: str
    banner: str  # operational / partial / major / maintenance (the page's banner)


def worst(statuses: Iterable[str]) -> str:
    return min(statuses, key=COMPONENT_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


def overall(statuses: list[str], *, maintenance_running: bool) -> Overall:
    """The page's overall status from its components' statuses (the worst one decides);
    with nothing wrong, a running maintenance window shows the maintenance banner."""
    worst_status = worst(statuses)
    indicator = INDICATOR_OF[worst_status]
    maintenance = maintenance_running or worst_status == ComponentStatus.UNDER_MAINTENANCE
    if indicator == "none":
        banner = "maintenance" if maintenance else "operational"
        description = "Service Under Maintenance" if maintenance else INDICATOR_DESCRIPTION["none"]
    else:
        banner = "major" if indicator == "critical" else "partial"
        description = INDICATOR_DESCRIPTION[indicator]
    return Overall(indicator=indicator, description=description, banner=banner)
