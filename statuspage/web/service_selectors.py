"""Reads of the service page: its checks, owner notes, status changes, deployments and
history, in a fixed number of queries, handed to templates as frozen dataclasses.

History figures come from two rollup reads, one of hours and one of days; every window
starts where checks.selectors.window_start says, and the day bar's days are those of
statuspage.core.days, as everywhere else.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection

from checks.models import HISTOGRAM_FIELDS, Check, Kind, Outcome, Rollup, State, Transition
from checks.selectors import AVAILABILITY_COUNTS, WINDOWS, Availability, window_start
from checks.status import ServiceStatus, service_status
from statuspage.catalog.models import Deployment, Link, Service, parse_links
from statuspage.core.days import day_of
from statuspage.core.dbtime import datetime_from_db, db_datetime
from statuspage.core.sql import sums
from statuspage.incidents.selectors import services_under_maintenance
from statuspage.web.charts import SeriesPoint
from statuspage.web.selectors_common import (
    CHECK_FIELDS,
    ServiceLabels,
    headline_check,
    late_since,
)
from statuspage.web.uptime import DayCell


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

    windows: list[WindowFigures]  # one per checks.selectors.WINDOWS
    range: str  # the window the charts show
    range_start: datetime
    range_end: datetime
    bucket: timedelta  # an hour or a day
    series: list[SeriesPoint]  # one point per bucket with data, oldest first
    days: list[DayCell]  # the day bar, oldest first, today last


@dataclass(frozen=True)
class ServicePage(ServiceLabels):
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


def _series(service_id: int, period: str, since: datetime) -> list[tuple[datetime, Availability]]:
    """Per hour or day: the service's result counts (every check) and merged latency
    histogram (request checks only: a heartbeat's "latency" is its job's run time).

    Plain SQL: built with the ORM, its many filtered sums cost more to compile than to run.
    """
    histogram = ", ".join(
        f"SUM(CASE WHEN c.kind <> %s THEN r.{name} ELSE 0 END)" for name in HISTOGRAM_FIELDS
    )
    sql = (
        f"SELECT r.start, {sums(AVAILABILITY_COUNTS, 'r.')}, {histogram} "  # noqa: S608
        "FROM checks_rollup r "
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
            datetime_from_db(row[0]),
            Availability(*map(int, row[1:5]), histogram=tuple(map(int, row[5:]))),
        )
        for row in rows
    ]


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
        late = late_since(c, now)
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
    """Two rollup reads serve every figure: the hours of the longest hourly window and the
    days of the longest daily window."""
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
        SeriesPoint(start, a.latency_ms(0.5), a.latency_ms(0.95), a.uptime_pct)
        for start, a in (hours if period == Rollup.Period.HOUR else days)
        if start >= range_start
    ]
    by_day = {day_of(start): a for start, a in days}
    first_day = day_of(window_start("90d", now))
    return History(
        windows=windows,
        range=range_,
        range_start=range_start,
        range_end=range_start + length,
        bucket=timedelta(hours=1) if period == Rollup.Period.HOUR else timedelta(days=1),
        series=series,
        days=[
            _day_cell(day, by_day.get(day))
            for day in (first_day + timedelta(days=n) for n in range(DAY_CELLS))
        ],
    )


def _day_cell(day: date, counts: Availability | None) -> DayCell:
    if counts is None:
        return DayCell(day, available=0, counted=0, maintenance=0)
    return DayCell(
        day,
        available=counts.up + counts.degraded,
        counted=counts.counted,
        maintenance=counts.maintenance,
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
