"""Reads of the team page. Every matching service gets its status and its place (worst
first) from its checks' states and running maintenance; then only the rows of the page shown
read their fields, checks, last deployments, baselines and hourly points
(statuspage.web.team_row_sources). The number of queries is fixed, whatever the number of
services, and templates get frozen dataclasses (they trigger no queries).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db.models import Count, Q

from checks.models import Kind, State
from checks.selectors import check_states_by_service
from checks.status import SEVERITY, ServiceStatus, service_status
from statuspage.catalog.models import TIER_RANK, Service, Team
from statuspage.incidents.selectors import services_under_maintenance
from statuspage.web.paging import PAGE_SIZE, Paging
from statuspage.web.selectors_common import (
    STATUS_LABELS,
    CheckLocations,
    ServiceLabels,
    late_since,
)
from statuspage.web.team_row_sources import SPARK_HOURS, LastDeployment, RowSources, row_sources

TROUBLE = (ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE, ServiceStatus.DEGRADED)


@dataclass(frozen=True)
class TeamPageFilters:
    team: str = ""
    status: str = ""
    tier: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.team or self.status or self.tier or self.q)


@dataclass(frozen=True)
class TeamOption:
    slug: str
    name: str
    services: int


@dataclass(frozen=True)
class Latency:
    check_name: str
    now_ms: float | None
    threshold_ms: int | None
    baseline_ms: float | None
    points: tuple[float | None, ...]  # mean per hour, oldest first, this hour included

    @property
    def over_threshold(self) -> bool:
        return bool(
            self.threshold_ms and self.now_ms is not None and self.now_ms > self.threshold_ms
        )

    @property
    def vs_baseline_pct(self) -> float | None:
        """How far latency now is from the 7-day p50, in percent (+ slower, - faster)."""
        if self.now_ms is None or not self.baseline_ms:
            return None
        return 100.0 * (self.now_ms - self.baseline_ms) / self.baseline_ms


@dataclass(frozen=True)
class Jobs:
    total: int = 0
    failing: int = 0
    late: int = 0
    waiting: int = 0  # never pinged, and not late yet

    @property
    def on_time(self) -> int:
        return self.total - self.failing - self.late - self.waiting

    @property
    def ok(self) -> bool:
        return not (self.failing or self.late)


@dataclass(frozen=True)
class ServiceRow(ServiceLabels):
    id: int
    slug: str
    name: str
    tier: str
    team_slug: str
    team_name: str
    status: ServiceStatus
    latency: Latency | None
    jobs: Jobs
    last_deployment: LastDeployment | None
    has_notes: bool
    rollback_note: str
    # What each location saw, for the service's running checks with several locations.
    locations: tuple[CheckLocations, ...] = ()

    @property
    def needs_attention(self) -> bool:
        """Down or slow: the row shows the rollback note."""
        return self.status in TROUBLE


@dataclass(frozen=True)
class StatusCount:
    status: ServiceStatus
    label: str
    count: int


@dataclass(frozen=True)
class TeamPage:
    rows: list[ServiceRow]  # the rows of this page
    counts: list[StatusCount]  # over the services matching every filter except status
    matched: int  # services matching every filter except status
    total_services: int  # in the catalog, unfiltered: zero means an empty catalog
    teams: list[TeamOption]
    generated_at: datetime
    paging: Paging


def team_options() -> list[TeamOption]:
    """Teams with their number of services, for the filter and the empty catalog check."""
    rows = (
        Team.objects.annotate(n=Count("services")).order_by("name").values_list("slug", "name", "n")
    )
    return [TeamOption(slug=slug, name=name, services=n) for slug, name, n in rows]


def _service_rows_query(filters: TeamPageFilters):
    services = Service.objects.all()
    if filters.team:
        services = services.filter(team__slug=filters.team)
    if filters.tier:
        services = services.filter(tier=filters.tier)
    if filters.q:
        services = services.filter(
            Q(name__icontains=filters.q)
            | Q(slug__icontains=filters.q)
            | Q(team__name__icontains=filters.q)
        )
    return services


# What a row shows of its service: read for the rows of the page only.
ROW_FIELDS = (
    "id", "slug", "name", "tier", "is_paused", "team__slug", "team__name",
    "owner_note__id", "owner_note__rollback_note",
)  # fmt: skip


def _jobs(checks: list[dict], now: datetime) -> Jobs:
    beats = [
        c for c in checks if c["kind"] == Kind.HEARTBEAT and c["is_enabled"] and not c["is_paused"]
    ]
    failing = late = waiting = 0
    for c in beats:
        if c["state"] == State.DOWN:
            failing += 1
        elif late_since(c, now):
            late += 1
        elif c["last_ping_at"] is None:
            waiting += 1
    return Jobs(total=len(beats), failing=failing, late=late, waiting=waiting)


def _check_states(services: list[tuple], filters: TeamPageFilters) -> dict[int, list[str]]:
    """The state of each enabled check of every matching service, for its status (one
    query of narrow columns: it reads every check in the catalog)."""
    if not services:
        return {}
    # The filters again as a subquery: the database joins, no ids travel back.
    return check_states_by_service(service_ids=_service_rows_query(filters).values("id"))


def _service_row(s: dict, sources: RowSources, status: ServiceStatus) -> ServiceRow:
    checks = sources.checks.get(s["id"], [])
    head = sources.headlines.get(s["id"])
    latency = None
    if head is not None:
        latency = Latency(
            check_name=head["name"],
            now_ms=head["last_latency_ms"],
            threshold_ms=head["degraded_ms"],
            baseline_ms=sources.baselines.get(head["id"]),
            points=tuple(sources.sparks.get(head["id"], [None] * SPARK_HOURS)),
        )
    return ServiceRow(
        id=s["id"],
        slug=s["slug"],
        name=s["name"],
        tier=s["tier"],
        team_slug=s["team__slug"],
        team_name=s["team__name"],
        status=status,
        latency=latency,
        jobs=_jobs(checks, sources.now),
        last_deployment=sources.deployments.get(s["id"]),
        has_notes=s["owner_note__id"] is not None,
        rollback_note=s["owner_note__rollback_note"] or "",
        locations=tuple(
            sorted(
                (sources.seen_from[c["id"]] for c in checks if c["id"] in sources.seen_from),
                key=lambda seen: seen.check_name,
            )
        ),
    )


@lru_cache(maxsize=4096)
def _status(states: tuple[str, ...], paused: bool, in_maintenance: bool) -> ServiceStatus:
    """service_status, kept per combination: thousands of services share a few."""
    return service_status(states, paused=paused, in_maintenance=in_maintenance)


def team_page(
    *,
    filters: TeamPageFilters,
    now: datetime,
    teams: list[TeamOption] | None = None,
    page: str | int | None = 1,
    per_page: int = PAGE_SIZE,
) -> TeamPage:
    """One page of rows, worst status first, then by tier, then by name.

    1. Services, their checks and running maintenance give every service its status.
    2. All of them are sorted and counted; the status filter applies after the counts.
    3. Only the rows of the page asked for read their deployments, baselines and sparklines.

    ``teams`` is ``team_options()`` when the caller already has it (the filter form does).
    """
    teams = team_options() if teams is None else teams
    # (id, name, tier, is_paused): every matching service, for its status and its place.
    services = list(_service_rows_query(filters).values_list("id", "name", "tier", "is_paused"))
    states = _check_states(services, filters)
    maintenance = services_under_maintenance(now=now) if services else set()
    statuses = {
        sid: _status(tuple(sorted(states.get(sid, ()))), paused, sid in maintenance)
        for sid, _name, _tier, paused in services
    }
    services.sort(
        key=lambda s: (SEVERITY[statuses[s[0]]], TIER_RANK.get(s[2], 9), s[1].lower(), s[0])
    )
    tally = dict.fromkeys(SEVERITY, 0)
    for status in statuses.values():
        tally[status] += 1
    if filters.status:
        services = [s for s in services if statuses[s[0]] == filters.status]
    paging = Paging.of(page, total=len(services), per_page=per_page)
    shown_ids = [s[0] for s in services[paging.start : paging.end]]
    details = {}
    if shown_ids:
        details = {d["id"]: d for d in Service.objects.filter(id__in=shown_ids).values(*ROW_FIELDS)}
    shown = [details[sid] for sid in shown_ids if sid in details]
    sources = row_sources(shown, maintenance, now)
    return TeamPage(
        rows=[_service_row(s, sources, statuses[s["id"]]) for s in shown],
        counts=[StatusCount(status, STATUS_LABELS[status], n) for status, n in tally.items()],
        matched=len(statuses),
        total_services=sum(t.services for t in teams),
        teams=teams,
        generated_at=now,
        paging=paging,
    )
