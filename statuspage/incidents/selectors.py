"""Reads of incidents and maintenance for the team site and the status pages."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, Prefetch, Value, When

from checks.models import Check, State
from checks.selectors import check_states_by_service
from checks.status import COMPONENT, ServiceStatus, service_status
from statuspage.catalog.models import Service, Tier
from statuspage.incidents.models import (
    ComponentStatus,
    Impact,
    Incident,
    IncidentService,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage.incidents.rules import RUNNING_STATUSES

# What an incident on a service of each tier is likely to mean for its users.
TIER_IMPACT = {
    Tier.CRITICAL: Impact.CRITICAL,
    Tier.HIGH: Impact.MAJOR,
    Tier.NORMAL: Impact.MINOR,
    Tier.LOW: Impact.MINOR,
}
PROBLEM_STATUSES = (
    ServiceStatus.MAJOR_OUTAGE,
    ServiceStatus.PARTIAL_OUTAGE,
    ServiceStatus.DEGRADED,
)


def services_under_maintenance(*, now: datetime) -> set[int]:
    """Ids of the services inside a maintenance window that is running now, in one query.

    A window runs from its start (or manual start) until it is completed; a window whose
    end has passed counts until the periodic task or a person completes it.
    """
    active = Maintenance.objects.filter(status__in=RUNNING_STATUSES) | Maintenance.objects.filter(
        status=MaintenanceStatus.SCHEDULED,
        auto_start=True,
        scheduled_for__lte=now,
        scheduled_until__gt=now,
    )
    return set(
        Maintenance.services.through.objects.filter(maintenance__in=active).values_list(
            "service_id", flat=True
        )
    )


# ---------------------------------------------------------------- team site


def _affected_prefetch() -> Prefetch:
    return Prefetch(
        "affected",
        queryset=IncidentService.objects.select_related("service").order_by("service__name"),
    )


def incident_list() -> list[Incident]:
    """Drafts and published incidents, unresolved first, then newest first (2 queries)."""
    closed = [IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM]
    return list(
        Incident.objects.annotate(
            is_closed=Case(
                When(status__in=closed, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .prefetch_related(_affected_prefetch())
        .order_by("is_closed", "-started_at", "-pk")
    )


def incident_detail(*, pk: int) -> Incident | None:
    """One incident with its affected services and its timeline, newest first (3 queries)."""
    updates = IncidentUpdate.objects.select_related("created_by").order_by("-created_at", "-pk")
    return (
        Incident.objects.select_related("created_by")
        .prefetch_related(_affected_prefetch(), Prefetch("updates", queryset=updates))
        .filter(pk=pk)
        .first()
    )


def maintenance_list() -> list[Maintenance]:
    """Running and upcoming maintenance first (soonest first), then completed (newest first)."""
    services = Prefetch("services", queryset=Service.objects.order_by("name"))
    rows = list(Maintenance.objects.prefetch_related(services).order_by("scheduled_for", "pk"))
    open_rows = [m for m in rows if m.status != MaintenanceStatus.COMPLETED]
    done = [m for m in rows if m.status == MaintenanceStatus.COMPLETED]
    return open_rows + done[::-1]


def maintenance_detail(*, pk: int) -> Maintenance | None:
    """One maintenance with its services and its timeline, newest first (3 queries)."""
    updates = MaintenanceUpdate.objects.select_related("created_by").order_by("-created_at", "-pk")
    return (
        Maintenance.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("name")),
            Prefetch("updates", queryset=updates),
        )
        .filter(pk=pk)
        .first()
    )


def service_choices() -> list[Service]:
    """Every service, by name, for the affected-service pickers (1 query)."""
    return list(Service.objects.order_by("name", "pk"))


@dataclass(frozen=True)
class ServiceProblem:
    service: Service
    status: ServiceStatus
    # The newest unresolved incident already listing the service, if any.
    incident: Incident | None = None


def services_with_problems(
    *, now: datetime, incidents: list[Incident] | None = None
) -> list[ServiceProblem]:
    """Services that are down or degraded now (not paused, not in maintenance), worst first.

    Three queries whatever the number of services: services, check states, maintenance.
    ``incidents`` (from ``incident_list``, affected services loaded) names the unresolved
    incident that already covers each service, without further queries.
    """
    states = check_states_by_service()
    in_maintenance = services_under_maintenance(now=now)
    covered: dict[int, Incident] = {}
    for incident in incidents or []:
        if incident.status in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
            continue
        for row in incident.affected.all():
            covered.setdefault(row.service_id, incident)
    problems = []
    for service in Service.objects.order_by("name", "pk"):
        status = service_status(
            states.get(service.pk, []),
            paused=service.is_paused,
            in_maintenance=service.pk in in_maintenance,
        )
        if status in PROBLEM_STATUSES:
            problems.append(
                ServiceProblem(service=service, status=status, incident=covered.get(service.pk))
            )
    problems.sort(key=lambda p: PROBLEM_STATUSES.index(p.status))
    return problems


@dataclass(frozen=True)
class IncidentPrefill:
    """What the "open an incident" form starts with when opened from a service."""

    service: Service
    title: str
    impact: str
    component_status: str
    body: str
    started_at: datetime | None


def incident_prefill(*, slug: str) -> IncidentPrefill | None:
    """Pre-fill an incident from a service's current state (2 queries); None: no such service.

    The component status follows the service's checks (all down: major outage, some down:
    partial outage, degraded: degraded performance); the impact follows its tier; the start
    is when its first failing check changed state. Public names are used: the title is shown
    on the public page.
    """
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        return None
    checks = list(
        Check.objects.filter(service=service, is_enabled=True).values_list(
            "state", "is_paused", "state_changed_at"
        )
    )
    status = service_status([State.PAUSED if paused else state for state, paused, _ in checks])
    name = service.display_public_name
    if status in (ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE):
        title, failing = f"{name} is down", State.DOWN
    elif status == ServiceStatus.DEGRADED:
        title, failing = f"{name} is degraded", State.DEGRADED
    else:
        title, failing = f"Problems with {name}", None
    since = [at for state, paused, at in checks if state == failing and not paused and at]
    component = COMPONENT[status] if status in PROBLEM_STATUSES else None
    return IncidentPrefill(
        service=service,
        title=title,
        impact=TIER_IMPACT.get(service.tier, Impact.MINOR),
        component_status=ComponentStatus(component or ComponentStatus.PARTIAL_OUTAGE),
        body=f"We are investigating problems with {name}.",
        started_at=min(since) if since else None,
    )
