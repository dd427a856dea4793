"""Everything the public status page, its JSON API, feeds and badges may show: the one
entry point they read through.

What is public is decided by the queries of ``statuspage.web.public_rows`` and nowhere
else: public services only, published incidents and maintenance only, and of them only
their public fields (title, status, impact, times, updates). Check targets, check details,
owner notes, internal service descriptions and authors are never read. This module and
``statuspage.web.public_items`` shape those rows into the frozen dataclasses of
``statuspage.web.public_types``, in a constant number of queries. A postmortem is shown
once the incident reaches the "postmortem" status.

Component status: while a published, unresolved incident names a service, the status the
incident gives it wins (people know more than probes); otherwise a running published
maintenance makes it under_maintenance; otherwise it is measured from its checks.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from checks.status import COMPONENT, service_status
from statuspage.core.days import day_of, day_start, day_zone
from statuspage.incidents.rules import IMPACT_SEVERITY, RUNNING_STATUSES
from statuspage.web import public_rows
from statuspage.web.public_days import UPTIME_DAYS, DayCell, DayCells, read_day_cells
from statuspage.web.public_items import incident_of, open_maintenances
from statuspage.web.public_items import public_incident as public_incident
from statuspage.web.public_items import public_incidents as public_incidents
from statuspage.web.public_items import public_maintenance as public_maintenance
from statuspage.web.public_items import public_maintenances as public_maintenances
from statuspage.web.public_items import public_month as public_month
from statuspage.web.public_overall import overall, worst
from statuspage.web.public_types import LABELS as LABELS
from statuspage.web.public_types import (
    Badge,
    Component,
    Group,
    HistoryDay,
    Link,
    PageInfo,
    PublicIncident,
    PublicMaintenance,
    PublicSummary,
)

HISTORY_DAYS = 14


# ----------------------------------------------------------------------------- page


def page_settings() -> dict:
    return settings.STATUS_PAGE


# The page's address while STATUS_PAGE_URL is unset: taken from the request being
# answered (see page_url_from), else the local `make run` address on PORT.
_request_page_url: ContextVar[str] = ContextVar("request_page_url", default="")


def page_url() -> str:
    configured = page_settings().get("url", "")
    return configured or _request_page_url.get() or f"http://127.0.0.1:{settings.PORT}/status/"


@contextmanager
def page_url_from(request: HttpRequest) -> Iterator[None]:
    """While rendering for ``request``, an unset page URL is this request's /status/."""
    token = _request_page_url.set(request.build_absolute_uri(reverse("public-status")))
    try:
        yield
    finally:
        _request_page_url.reset(token)


def page_zone() -> ZoneInfo:
    """The page's time zone: where its days begin and how its times are written."""
    return day_zone()


UTC_NAMES = {"Etc/UTC", "UTC", "Etc/UCT", "UCT", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu"}


def zone_label(zone: ZoneInfo) -> str:
    """The zone as people read it: "UTC" rather than "Etc/UTC", "America/New York"
    rather than "America/New_York"."""
    name = str(zone)
    return "UTC" if name in UTC_NAMES else name.replace("_", " ")


def _safe_url(url: str) -> str:
    """Only absolute http(s) URLs and site-relative paths reach an href or src."""
    url = (url or "").strip()
    if url.startswith("/") and not url.startswith("//"):
        return url
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _links(raw: list[str]) -> tuple[Link, ...]:
    links = []
    for item in raw:
        label, _, url = item.partition("|")
        if _safe_url(url) and label.strip():
            links.append(Link(label.strip(), _safe_url(url)))
    return tuple(links)


def page_info(updated_at: datetime) -> PageInfo:
    conf = page_settings()
    url = page_url()
    return PageInfo(
        id=hashlib.sha256(url.encode()).hexdigest()[:12],
        name=conf.get("name") or "Status",
        url=url,
        time_zone=str(page_zone()),
        updated_at=updated_at,
        logo_url=_safe_url(conf.get("logo_url", "")),
        support_url=_safe_url(conf.get("support_url", "")),
        links=_links(conf.get("links", [])),
    )


# ----------------------------------------------------------------------- components


@dataclass(frozen=True)
class PublicChecks:
    """The checks of the public services: which service each belongs to (for rollups),
    and per service the states of its enabled checks and their latest state change."""

    services: dict[int, int]  # check id -> service id
    states: dict[int, tuple[list[str], datetime | None]]


def _public_services() -> tuple[list[dict], PublicChecks]:
    """The public services in page order, and their checks."""
    services, rows = public_rows.public_services()
    checks = PublicChecks({}, {})
    for row in rows:
        service_id = row["service_id"]
        checks.services[row["id"]] = service_id
        if not row["is_enabled"]:
            continue
        states, latest = checks.states.get(service_id, ([], None))
        states.append("paused" if row["is_paused"] else row["state"])
        changed = row["state_changed_at"]
        if changed and (latest is None or changed > latest):
            latest = changed
        checks.states[service_id] = (states, latest)
    return services, checks


def _component_status(
    row: dict, states: list[str], overrides: dict[int, list[str]], maintained: set[int]
) -> str:
    if row["id"] in overrides:
        return worst(overrides[row["id"]])
    measured = service_status(
        states, paused=row["is_paused"], in_maintenance=row["id"] in maintained
    )
    return str(COMPONENT[measured])


def _with_incidents(cells: list[DayCell], marks: dict[int, tuple[list[str], str]]) -> None:
    for index, (titles, impact) in marks.items():
        base = cells[index]
        cells[index] = DayCell(
            base.day, base.available, base.counted, base.maintenance, tuple(titles), impact
        )


def _incident_marks(
    incidents: list[PublicIncident], first_day: date, now: datetime
) -> dict[int, dict[int, tuple[list[str], str]]]:
    """Service -> day index -> titles and worst impact of the incidents open that day."""
    marks: dict[int, dict[int, tuple[list[str], str]]] = defaultdict(dict)
    for incident in reversed(incidents):  # oldest first: titles read in time order
        first = (day_of(incident.started_at) - first_day).days
        last = (day_of(incident.resolved_at or now) - first_day).days
        for index in range(max(first, 0), min(last, UPTIME_DAYS - 1) + 1):
            for affected in incident.affected:
                titles, impact = marks[affected.component_id].setdefault(index, ([], "none"))
                titles.append(incident.name)
                if IMPACT_SEVERITY[incident.impact] > IMPACT_SEVERITY[impact]:
                    marks[affected.component_id][index] = (titles, incident.impact)
    return marks


def _layout(components: list[Component]) -> tuple[tuple[Group | Component, ...], tuple[Group, ...]]:
    grouped: dict[str, list[Component]] = defaultdict(list)
    layout: list[Group | Component | str] = []
    for component in components:
        if not component.group:
            layout.append(component)
            continue
        if component.group not in grouped:
            layout.append(component.group)  # a group sits where its first member would
        grouped[component.group].append(component)
    groups = {
        name: Group(
            id="g" + hashlib.sha256(name.encode()).hexdigest()[:11],
            name=name,
            position=members[0].position,
            status=worst(m.status for m in members),
            components=tuple(members),
        )
        for name, members in grouped.items()
    }
    entries = tuple(groups[item] if isinstance(item, str) else item for item in layout)
    return entries, tuple(groups.values())


# -------------------------------------------------------------------------- summary


def public_summary(
    *,
    now: datetime | None = None,
    with_history: bool = True,
    read_cells: Callable[[date, dict[int, int]], DayCells] = read_day_cells,
) -> PublicSummary:
    """The whole public page in eight queries, whatever the number of services.

    ``with_history`` adds the per-day uptime cells and the recent incident history (the
    HTML page); the JSON API and badges leave them out. ``read_cells`` reads the cells,
    given the first day and the public services' checks (check id -> service id).
    """
    now = now or timezone.now()
    first_day = day_of(now) - timedelta(days=UPTIME_DAYS - 1)
    since = day_start(first_day)
    if not with_history:
        since = now
    services, checks = _public_services()
    incidents = [incident_of(row) for row in public_rows.incidents_open_or_since(since)]
    maintenances = open_maintenances(now)

    active = [i for i in incidents if not i.is_resolved]
    running = [m for m in maintenances if m.status in RUNNING_STATUSES]
    read = read_cells(first_day, checks.services) if with_history else None
    marks = _incident_marks(incidents, first_day, now) if with_history else {}
    components = _components(services, checks, read, marks, active=active, running=running)
    layout, groups = _layout(components)
    stamps = [c.updated_at for c in components] + [i.updated_at for i in incidents]
    stamps += [m.updated_at for m in maintenances]
    return PublicSummary(
        page=page_info(max(stamps, default=now)),
        overall=overall([c.status for c in components], maintenance_running=bool(running)),
        layout=layout,
        components=tuple(components),
        groups=groups,
        active_incidents=tuple(sorted(active, key=_by_impact_then_time)),
        active_maintenances=tuple(running),
        upcoming_maintenances=tuple(m for m in maintenances if m.status == "scheduled"),
        history=_history(incidents, now) if with_history else (),
        generated_at=now,
    )


def _components(
    services: list[dict],
    checks: PublicChecks,
    read: DayCells | None,
    marks: dict[int, dict[int, tuple[list[str], str]]],
    *,
    active: list[PublicIncident],
    running: list[PublicMaintenance],
) -> list[Component]:
    overrides: dict[int, list[str]] = defaultdict(list)
    for incident in active:
        for affected in incident.affected:
            overrides[affected.component_id].append(affected.status)
    maintained = {a.component_id for m in running for a in m.affected}
    components = []
    for position, row in enumerate(services, start=1):
        row_states, changed = checks.states.get(row["id"], ([], None))
        cells = read.of(row["id"]) if read else []
        if row["id"] in marks:
            cells = cells.copy()  # the read cells may be shared with other renders
            _with_incidents(cells, marks[row["id"]])
        components.append(
            Component(
                id=row["id"],
                slug=row["slug"],
                name=row["public_name"] or row["name"],
                description=row["public_description"],
                group=row["component_group"],
                position=position,
                status=_component_status(row, row_states, overrides, maintained),
                created_at=row["created_at"],
                updated_at=max(filter(None, (row["updated_at"], changed))),
                uptime=read.uptime(row["id"]) if read else None,
                days=tuple(cells),
            )
        )
    return components


def _by_impact_then_time(incident: PublicIncident) -> tuple:
    """Sort key: the worst impact first, then the most recently started."""
    return (-IMPACT_SEVERITY[incident.impact], -incident.started_at.timestamp(), -incident.id)


def _history(incidents: list[PublicIncident], now: datetime) -> tuple[HistoryDay, ...]:
    today = day_of(now)
    by_day: dict[date, list[PublicIncident]] = defaultdict(list)
    for incident in incidents:
        by_day[day_of(incident.started_at)].append(incident)
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS)]
    return tuple(HistoryDay(day, tuple(by_day.get(day, ()))) for day in days)


def public_badge(slug: str, *, now: datetime | None = None) -> Badge | None:
    """A public service's component status and 30-day uptime; None if not public."""
    from checks.selectors import availability_by

    now = now or timezone.now()
    summary = public_summary(now=now, with_history=False)
    component = next((c for c in summary.components if c.slug == slug), None)
    if component is None:
        return None
    found = availability_by(group="service", window="30d", now=now, ids=[component.id])
    uptime = found[component.id].uptime_pct if component.id in found else None
    return Badge(name=component.name, status=component.status, uptime_30d=uptime)
