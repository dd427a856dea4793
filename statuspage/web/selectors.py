"""Reads of the team pages. Each page is built from a fixed number of queries, whatever the
number of services, checks or deployments, and handed to templates as frozen dataclasses
(templates trigger no queries).

Team page: teams, services, the states of their checks and running maintenance give every
service its status and its place (worst first); then only the rows of the page shown read
their fields, checks, last deployments, 7-day baselines and 24 hourly points: nine queries
for 10 services or 5,000.
"""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q

from checks.heartbeats import late_deadline
from checks.histogram import BUCKET_BOUNDS_MS
from checks.models import HISTOGRAM_FIELDS, Check, Kind, Outcome, Rollup, State, Transition
from checks.selectors import WINDOWS, Availability
from checks.status import SEVERITY, ServiceStatus, service_status
from statuspage.catalog.models import TIER_RANK, Deployment, Link, Service, Team, Tier, parse_links
from statuspage.core.dbtime import db_datetime
from statuspage.incidents.selectors import services_under_maintenance
from statuspage.web.charts import DayCell, SeriesPoint
from statuspage.web.paging import PAGE_SIZE, Paging

STATUS_LABELS = {
    ServiceStatus.MAJOR_OUTAGE: "Major outage",
    ServiceStatus.PARTIAL_OUTAGE: "Partial outage",
    ServiceStatus.DEGRADED: "Degraded",
    ServiceStatus.UNKNOWN: "Unknown",
    ServiceStatus.MAINTENANCE: "Maintenance",
    ServiceStatus.OPERATIONAL: "Operational",
    ServiceStatus.PAUSED: "Paused",
}
TROUBLE = (ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE, ServiceStatus.DEGRADED)
SPARK_HOURS = 24
BASELINE_DAYS = 7


# ----------------------------------------------------------------------- shared pieces


def quantile(histogram: tuple[int, ...] | list[int], q: float) -> float | None:
    """checks.histogram.percentile, written for thousands of rows per page: the running
    totals and the bucket search run in C (itertools, bisect)."""
    running = list(accumulate(histogram))
    count = running[-1]
    if count == 0:
        return None
    rank = q * count
    index = bisect_left(running, rank)
    seen = running[index - 1] if index else 0
    low = BUCKET_BOUNDS_MS[index - 1] if index > 0 else 0.0
    high = BUCKET_BOUNDS_MS[index] if index < len(BUCKET_BOUNDS_MS) else low * 2
    return low + (high - low) * ((rank - seen) / histogram[index])


@dataclass(frozen=True)
class DeploymentView:
    id: int
    version: str
    ref: str
    deployed_at: datetime
    deployed_by: str
    reason: str
    expected_metric: str
    verdict: str  # a checks.models.Verdict value, or "pending" before it is computed
    verdict_reason: str
    before_p50_ms: float | None = None
    after_p50_ms: float | None = None
    before_p95_ms: float | None = None
    after_p95_ms: float | None = None
    before_failure_pct: float | None = None
    after_failure_pct: float | None = None
    before_uptime_pct: float | None = None
    after_uptime_pct: float | None = None


# In the order of DeploymentView's fields: rows are read with values_list.
DEPLOYMENT_FIELDS = (
    "id", "version", "ref", "deployed_at", "deployed_by", "reason", "expected_metric",
    "impact__verdict", "impact__reason", "impact__before_p50_ms", "impact__after_p50_ms",
    "impact__before_p95_ms", "impact__after_p95_ms", "impact__before_failure_pct",
    "impact__after_failure_pct", "impact__before_uptime_pct", "impact__after_uptime_pct",
)  # fmt: skip


def _deployment_view(row: tuple) -> DeploymentView:
    # No impact row yet: the verdict is pending.
    return DeploymentView(*row[:7], row[7] or "pending", row[8] or "", *row[9:])


def _deployments(queryset) -> list[DeploymentView]:
    return [_deployment_view(row) for row in queryset.values_list(*DEPLOYMENT_FIELDS)]


def verdict_due_at(deployed_at: datetime) -> datetime:
    """When a deployment's verdict is computed: once the window after it has passed."""
    return deployed_at + timedelta(seconds=settings.DEPLOY_VERDICT_WINDOW_S)


@dataclass(frozen=True)
class LastDeployment:
    """What the team page shows of a service's last deployment."""

    id: int
    version: str
    deployed_at: datetime
    verdict: str  # a checks.models.Verdict value, or "pending"
    before_p95_ms: float | None
    after_p95_ms: float | None


def _last_deployments(service_ids: list[int]) -> dict[int, LastDeployment]:
    """The last deployment of each service, by service id (services without one: absent)."""
    ids_sql, ids_params = _in("s.id", service_ids)
    sql = (
        "SELECT d.service_id, d.id, d.version, d.deployed_at, i.verdict, i.before_p95_ms, "  # noqa: S608
        "i.after_p95_ms FROM catalog_deployment d "
        "LEFT JOIN checks_deploymentimpact i ON i.deployment_id = d.id "
        "WHERE d.id IN (SELECT (SELECT l.id FROM catalog_deployment l WHERE l.service_id = s.id "
        f"ORDER BY l.deployed_at DESC LIMIT 1) FROM catalog_service s WHERE {ids_sql})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids_params)
        rows = cursor.fetchall()
    return {
        row[0]: LastDeployment(row[1], row[2], _aware(row[3]), row[4] or "pending", *row[5:])
        for row in rows
    }


# Which kind of check speaks for a service's latency, best first: the request a user makes
# (HTTP) before a bare connect, a name lookup or a certificate check.
HEADLINE_KINDS = (Kind.HTTP, Kind.TCP, Kind.DNS, Kind.TLS)


def headline_check(checks: list[dict]) -> dict | None:
    """The check whose latency speaks for the service: its main request check.

    Among enabled, unpaused checks of the first kind in HEADLINE_KINDS the service has (an
    HTTP check whenever there is one, even while it is down), the one furthest over (or
    nearest to) its threshold; without thresholds, the slowest. A kind other than HTTP
    only counts once it has measured something: a certificate check that never ran says
    nothing about speed.
    """
    active = [c for c in checks if c["is_enabled"] and not c["is_paused"]]
    candidates: list[dict] = []
    for kind in HEADLINE_KINDS:
        candidates = [
            c
            for c in active
            if c["kind"] == kind and (kind == Kind.HTTP or c["last_latency_ms"] is not None)
        ]
        if candidates:
            break
    if not candidates:
        return None

    def weight(c: dict) -> tuple[int, float, float]:
        latency = c["last_latency_ms"]
        threshold = c["degraded_ms"]
        if threshold and latency is not None:
            return (2, latency / threshold, latency)
        return (1 if latency is not None else 0, 0.0, latency or 0.0)

    return max(candidates, key=weight)


# ------------------------------------------------------------------------- team page


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
class ServiceRow:
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

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

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


CHECK_FIELDS = (
    "id", "service_id", "name", "kind", "state", "is_enabled", "is_paused", "degraded_ms",
    "last_latency_ms", "last_ping_at", "created_at", "interval_s", "grace_s", "cron",
)  # fmt: skip


@dataclass(frozen=True)
class _Schedule:
    """The fields ``late_deadline`` reads, without building a model instance per check."""

    last_ping_at: datetime | None
    created_at: datetime
    interval_s: int
    grace_s: int
    cron: str


def _jobs(checks: list[dict], now: datetime) -> Jobs:
    beats = [
        c for c in checks if c["kind"] == Kind.HEARTBEAT and c["is_enabled"] and not c["is_paused"]
    ]
    failing = late = waiting = 0
    for c in beats:
        if c["state"] == State.DOWN:
            failing += 1
        elif late_deadline(
            _Schedule(c["last_ping_at"], c["created_at"], c["interval_s"], c["grace_s"], c["cron"]),
            now=now,
        ):
            late += 1
        elif c["last_ping_at"] is None:
            waiting += 1
    return Jobs(total=len(beats), failing=failing, late=late, waiting=waiting)


def _in(column: str, ids: list[int]) -> tuple[str, list]:
    """``column`` is one of ``ids``, for plain SQL.

    PostgreSQL gets one array parameter: the driver re-parses every statement with more than
    50 parameters, and an IN list of 500 costs milliseconds each time. The array is cast to
    bigint[]: left to the driver it would be int2[] or int4[], and the planner then picks a
    slower plan.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _sparkline_points(check_ids: list[int], now: datetime) -> dict[int, list[float | None]]:
    """Mean latency of each check per hour over the last 24 hours (this hour included).

    One query over the hourly rollups. The mean (latency_sum_ms / latency_count) rather
    than the p50: the p50 needs each row's 22 histogram columns, and at 500 services that
    is 12,000 rows whose transfer alone would cost the page its time budget.
    """
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=SPARK_HOURS - 1)
    points: dict[int, list[float | None]] = {}
    if not check_ids:
        return points
    # The hour of day (UTC) names the slot: 24 consecutive hours have 24 different ones.
    hour_sql, hour_params = connection.ops.datetime_extract_sql("hour", "start", (), "UTC")
    checks_sql, checks_params = _in("check_id", check_ids)
    sql = (
        f"SELECT check_id, CAST({hour_sql} AS INTEGER), latency_sum_ms / latency_count "  # noqa: S608
        "FROM checks_rollup WHERE period = %s AND start >= %s AND latency_count > 0 "
        f"AND {checks_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*hour_params, Rollup.Period.HOUR, db_datetime(first), *checks_params])
        rows = cursor.fetchall()
    for check_id, hour, mean_ms in rows:
        line = points.get(check_id)
        if line is None:
            line = points[check_id] = [None] * SPARK_HOURS
        line[(hour - first.hour) % SPARK_HOURS] = mean_ms
    return points


def _baselines(check_ids: list[int], now: datetime) -> dict[int, float | None]:
    """The p50 latency of each check over its last 7 days (today so far included).

    Read from the daily rollups: a day's histogram is the sum of its hours', so the p50 is
    the one the hourly rows would give, from 7 rows per check instead of 168.
    """
    if not check_ids:
        return {}
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=BASELINE_DAYS - 1
    )
    sums = ", ".join(f"SUM({name})" for name in HISTOGRAM_FIELDS)
    checks_sql, checks_params = _in("check_id", check_ids)
    sql = (
        f"SELECT check_id, {sums} FROM checks_rollup WHERE period = %s AND start >= %s "  # noqa: S608
        f"AND {checks_sql} GROUP BY check_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Rollup.Period.DAY, db_datetime(since), *checks_params])
        rows = cursor.fetchall()
    return {row[0]: quantile([int(v) for v in row[1:]], 0.5) for row in rows}


@dataclass(frozen=True)
class _RowSources:
    """Everything the rows are built from, each read once for all services."""

    now: datetime
    deployments: dict[int, LastDeployment]
    checks: dict[int, list[dict]]  # service id -> its checks
    maintenance: set[int]
    headlines: dict[int, dict | None]  # service id -> the check that speaks for its latency
    baselines: dict[int, float | None]  # check id -> 7-day p50
    sparks: dict[int, list[float | None]]  # check id -> hourly points


def _check_states(services: list[tuple], filters: TeamPageFilters) -> dict[int, list[str]]:
    """The state of each enabled check of every matching service, for its status (one
    query of four narrow columns: it reads every check in the catalog)."""
    states: dict[int, list[str]] = {}
    if services:
        # The filters again as a subquery: the database joins, no ids travel back.
        matching = _service_rows_query(filters).values("id")
        rows = Check.objects.filter(service_id__in=matching, is_enabled=True).values_list(
            "service_id", "state", "is_paused"
        )
        for service_id, state, paused in rows:
            states.setdefault(service_id, []).append(State.PAUSED if paused else state)
    return states


def _checks_of(service_ids: list[int]) -> dict[int, list[dict]]:
    """Every field the rows show of the checks of these services (one query)."""
    checks: dict[int, list[dict]] = {}
    for check in Check.objects.filter(service_id__in=service_ids).values(*CHECK_FIELDS):
        checks.setdefault(check["service_id"], []).append(check)
    return checks


def _row_sources(shown: list[dict], maintenance: set[int], now: datetime) -> _RowSources:
    """Four queries for the rows on the page (none without rows): checks, last
    deployments, baselines and sparkline points."""
    if not shown:
        return _RowSources(now, {}, {}, maintenance, {}, {}, {})
    ids = [s["id"] for s in shown]
    checks = _checks_of(ids)
    headlines = {s["id"]: headline_check(checks.get(s["id"], [])) for s in shown}
    headline_ids = [c["id"] for c in headlines.values() if c is not None]
    return _RowSources(
        now=now,
        deployments=_last_deployments(ids),
        checks=checks,
        maintenance=maintenance,
        headlines=headlines,
        baselines=_baselines(headline_ids, now),
        sparks=_sparkline_points(headline_ids, now),
    )


def _service_row(s: dict, sources: _RowSources, status: ServiceStatus) -> ServiceRow:
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
    sources = _row_sources(shown, maintenance, now)
    return TeamPage(
        rows=[_service_row(s, sources, statuses[s["id"]]) for s in shown],
        counts=[StatusCount(status, STATUS_LABELS[status], n) for status, n in tally.items()],
        matched=len(statuses),
        total_services=sum(t.services for t in teams),
        teams=teams,
        generated_at=now,
        paging=paging,
    )


# ---------------------------------------------------------------------- service page


@dataclass(frozen=True)
class NoteView:
    id: int
    expected_result: str
    rollback_note: str
    runbook: str
    links: list[Link]
    updated_at: datetime

    @property
    def is_empty(self) -> bool:
        return not (self.expected_result or self.rollback_note or self.runbook or self.links)


@dataclass(frozen=True)
class CheckView:
    id: int
    name: str
    kind: str
    state: str
    is_enabled: bool
    is_paused: bool
    interval_s: int
    threshold_ms: int | None
    last_checked_at: datetime | None
    last_outcome: int | None
    last_latency_ms: float | None
    detail: str
    ping_uuid: str | None  # heartbeat checks only
    last_ping_at: datetime | None
    late_since: datetime | None

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label

    @property
    def state_label(self) -> str:
        return "Paused" if self.is_paused else State(self.state).label

    @property
    def shown_state(self) -> str:
        return State.PAUSED if self.is_paused else self.state

    @property
    def outcome_label(self) -> str:
        return Outcome(self.last_outcome).label if self.last_outcome else "no result yet"


@dataclass(frozen=True)
class TransitionView:
    at: datetime
    check_name: str
    from_state: str
    to_state: str
    reason: str

    @property
    def from_label(self) -> str:
        return State(self.from_state).label

    @property
    def to_label(self) -> str:
        return State(self.to_state).label


@dataclass(frozen=True)
class WindowFigures:
    window: str
    uptime_pct: float | None
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class History:
    """The service's rollups as the page draws them."""

    windows: list[WindowFigures]  # 24h to 365d
    range: str  # the window the charts show
    range_start: datetime
    range_end: datetime
    bucket: timedelta  # an hour or a day
    series: list[SeriesPoint]  # one point per bucket with data, oldest first
    days: list[DayCell]  # the 90-day bar


@dataclass(frozen=True)
class ServicePage:
    id: int
    slug: str
    name: str
    description: str
    tier: str
    is_paused: bool
    team_id: int
    team_name: str
    team_slug: str
    team_contact_email: str
    team_chat_channel: str
    team_escalation_note: str
    status: ServiceStatus
    note: NoteView | None
    checks: list[CheckView]
    transitions: list[TransitionView]
    deployments: list[DeploymentView]  # the most recent ones, newest first
    markers: list[DeploymentView]  # the deployments inside the chart's range
    history: History
    threshold_ms: int | None
    generated_at: datetime

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_operational(self) -> bool:
        return self.status in (ServiceStatus.OPERATIONAL, ServiceStatus.PAUSED)

    @property
    def is_down(self) -> bool:
        return self.status in (ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE)


RECENT_TRANSITIONS = 20
RECENT_DEPLOYMENTS = 20
MAX_MARKERS = 100
DAY_CELLS = 90
SERVICE_FIELDS = (
    "id", "slug", "name", "description", "tier", "is_paused", "team_id", "team__name", "team__slug",
    "team__contact_email", "team__chat_channel", "team__escalation_note", "owner_note__id",
    "owner_note__expected_result", "owner_note__rollback_note", "owner_note__runbook",
    "owner_note__links", "owner_note__updated_at",
)  # fmt: skip
COUNT_NAMES = ("up", "degraded", "down", "maintenance")


def window_start(window: str, now: datetime) -> datetime:
    """Where ``window`` begins: the same boundaries as checks.selectors.availability_by."""
    period, length = WINDOWS[window]
    start = now - length
    if period == Rollup.Period.DAY:
        return start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _series(service_id: int, period: str, since: datetime) -> list[tuple[datetime, Availability]]:
    """Per hour or day: the service's result counts (every check) and merged latency
    histogram (request checks only: a heartbeat's "latency" is its job's run time).

    Plain SQL: built with the ORM, its 26 filtered sums cost more to compile than to run.
    """
    counts = ", ".join(f"SUM(r.{name})" for name in COUNT_NAMES)
    histogram = ", ".join(
        f"SUM(CASE WHEN c.kind <> %s THEN r.{name} ELSE 0 END)" for name in HISTOGRAM_FIELDS
    )
    sql = (
        f"SELECT r.start, {counts}, {histogram} FROM checks_rollup r "  # noqa: S608
        "JOIN checks_check c ON c.id = r.check_id "
        "WHERE c.service_id = %s AND r.period = %s AND r.start >= %s "
        "GROUP BY r.start ORDER BY r.start"
    )
    params = [
        *[Kind.HEARTBEAT.value] * len(HISTOGRAM_FIELDS),
        service_id,
        period,
        db_datetime(since),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        (
            _aware(row[0]),
            Availability(*map(int, row[1:5]), histogram=tuple(map(int, row[5:]))),
        )
        for row in rows
    ]


def _aware(value: datetime | str) -> datetime:
    """A timestamp read with plain SQL: SQLite hands it back naive (or as text), in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _merge(parts: list[Availability]) -> Availability:
    return Availability(
        up=sum(p.up for p in parts),
        degraded=sum(p.degraded for p in parts),
        down=sum(p.down for p in parts),
        maintenance=sum(p.maintenance for p in parts),
        histogram=tuple(map(sum, zip(*(p.histogram for p in parts), strict=True)))
        if parts
        else (0,) * len(HISTOGRAM_FIELDS),
    )


def _check_view(c: dict, now: datetime) -> CheckView:
    heartbeat = c["kind"] == Kind.HEARTBEAT
    late = None
    if heartbeat and c["is_enabled"] and not c["is_paused"]:
        late = late_deadline(
            _Schedule(c["last_ping_at"], c["created_at"], c["interval_s"], c["grace_s"], c["cron"]),
            now=now,
        )
    return CheckView(
        id=c["id"],
        name=c["name"],
        kind=c["kind"],
        state=c["state"],
        is_enabled=c["is_enabled"],
        is_paused=c["is_paused"],
        interval_s=c["interval_s"],
        threshold_ms=c["degraded_ms"],
        last_checked_at=c["last_checked_at"],
        last_outcome=c["last_outcome"],
        last_latency_ms=c["last_latency_ms"],
        detail=c["last_detail"],
        ping_uuid=str(c["ping_uuid"]) if heartbeat else None,
        last_ping_at=c["last_ping_at"],
        late_since=late,
    )


def _note_view(s: dict) -> NoteView | None:
    if s["owner_note__id"] is None:
        return None
    try:
        links = parse_links(s["owner_note__links"])
    except ValidationError:
        links = []  # stored before validation existed: the page still renders
    return NoteView(
        id=s["owner_note__id"],
        expected_result=s["owner_note__expected_result"],
        rollback_note=s["owner_note__rollback_note"],
        runbook=s["owner_note__runbook"],
        links=links,
        updated_at=s["owner_note__updated_at"],
    )


def _history(service_id: int, range_: str, now: datetime) -> History:
    """Two rollup reads serve every figure: hours of the last 7 days, days of the last year."""
    hours = _series(service_id, Rollup.Period.HOUR, window_start("7d", now))
    days = _series(service_id, Rollup.Period.DAY, window_start("365d", now))
    windows = []
    for window, (period, _length) in WINDOWS.items():
        since = window_start(window, now)
        merged = _merge([a for start, a in (hours if period == "hour" else days) if start >= since])
        windows.append(
            WindowFigures(
                window, merged.uptime_pct, merged.latency_ms(0.5), merged.latency_ms(0.95)
            )
        )
    period, length = WINDOWS[range_]
    range_start = window_start(range_, now)
    series = [
        SeriesPoint(start, quantile(a.histogram, 0.5), quantile(a.histogram, 0.95), a.uptime_pct)
        for start, a in (hours if period == Rollup.Period.HOUR else days)
        if start >= range_start
    ]
    by_day = {start.date(): a.uptime_pct for start, a in days}
    first_day = window_start("90d", now).date()
    return History(
        windows=windows,
        range=range_,
        range_start=range_start,
        range_end=range_start + length,
        bucket=timedelta(hours=1) if period == Rollup.Period.HOUR else timedelta(days=1),
        series=series,
        days=[
            DayCell(day.isoformat(), by_day.get(day))
            for day in (first_day + timedelta(days=n) for n in range(DAY_CELLS))
        ],
    )


def service_page(*, slug: str, range_: str, now: datetime) -> ServicePage | None:
    """Everything the service page shows, in a fixed number of queries. None: no service."""
    s = Service.objects.filter(slug=slug).values(*SERVICE_FIELDS).first()
    if s is None:
        return None
    checks = list(
        Check.objects.filter(service_id=s["id"])
        .order_by("name")
        .values(*CHECK_FIELDS, "last_checked_at", "last_outcome", "last_detail", "ping_uuid")
    )
    states = [State.PAUSED if c["is_paused"] else c["state"] for c in checks if c["is_enabled"]]
    in_maintenance = s["id"] in services_under_maintenance(now=now)
    transitions = [
        TransitionView(t["at"], t["check_ref__name"], t["from_state"], t["to_state"], t["reason"])
        for t in Transition.objects.filter(check_ref__service_id=s["id"])
        .order_by("-at")
        .values("at", "check_ref__name", "from_state", "to_state", "reason")[:RECENT_TRANSITIONS]
    ]
    deployments = Deployment.objects.filter(service_id=s["id"]).order_by("-deployed_at")
    history = _history(s["id"], range_, now)
    in_range = deployments.filter(deployed_at__gte=history.range_start, deployed_at__lte=now)
    head = headline_check(checks)
    return ServicePage(
        id=s["id"],
        slug=s["slug"],
        name=s["name"],
        description=s["description"],
        tier=s["tier"],
        is_paused=s["is_paused"],
        team_id=s["team_id"],
        team_name=s["team__name"],
        team_slug=s["team__slug"],
        team_contact_email=s["team__contact_email"],
        team_chat_channel=s["team__chat_channel"],
        team_escalation_note=s["team__escalation_note"],
        status=service_status(states, paused=s["is_paused"], in_maintenance=in_maintenance),
        note=_note_view(s),
        checks=[_check_view(c, now) for c in checks],
        transitions=transitions,
        deployments=_deployments(deployments[:RECENT_DEPLOYMENTS]),
        markers=_deployments(in_range[:MAX_MARKERS]),
        history=history,
        threshold_ms=head["degraded_ms"] if head else None,
        generated_at=now,
    )
