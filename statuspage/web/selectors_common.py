"""What the team page and the service page read alike: status words, the check fields both
read, which check speaks for a service's latency, when a heartbeat is late, when a
deployment's verdict is due and what each location saw of a check run from several.
Checks are handled as ``values()`` dicts: building a model instance per check would cost the
team page more than its queries."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from checks.heartbeats import late_deadline
from checks.models import Kind
from checks.selectors import LocationResult, location_results
from checks.status import ServiceStatus
from statuspage.catalog.models import Tier

STATUS_LABELS = {
    ServiceStatus.MAJOR_OUTAGE: "Major outage",
    ServiceStatus.PARTIAL_OUTAGE: "Partial outage",
    ServiceStatus.DEGRADED: "Degraded",
    ServiceStatus.UNKNOWN: "Unknown",
    ServiceStatus.MAINTENANCE: "Maintenance",
    ServiceStatus.OPERATIONAL: "Operational",
    ServiceStatus.PAUSED: "Paused",
}


class ServiceLabels:
    """The words for a service's ``tier`` and ``status`` fields, for the pages' dataclasses."""

    tier: str
    status: ServiceStatus

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


# The fields of a check both pages read.
CHECK_FIELDS = (
    "id", "service_id", "name", "kind", "state", "is_enabled", "is_paused", "degraded_ms",
    "last_latency_ms", "last_ping_at", "created_at", "interval_s", "grace_s", "cron",
)  # fmt: skip


# The fields location_results reads beside CHECK_FIELDS.
LOCATION_FIELDS = ("locations", "last_slot")


@dataclass(frozen=True)
class CheckLocations:
    """What each of a check's locations saw of its last decided slot."""

    check_name: str
    locations: tuple[str, ...]  # where the check runs from, as configured
    results: tuple[LocationResult, ...]  # by location name; a location without one is absent

    @property
    def silent(self) -> tuple[str, ...]:
        """Locations with no result for the last slot (yet, or their batch was lost)."""
        seen = {r.location for r in self.results}
        return tuple(name for name in self.locations if name not in seen)


def checks_seen_from(checks: list[dict]) -> dict[int, CheckLocations]:
    """Check id -> what its locations saw, for the running checks (dicts read with
    CHECK_FIELDS and LOCATION_FIELDS) that run from several locations. One query for all of
    them, none when no such check is among ``checks``."""
    several = [
        c
        for c in checks
        if len(c["locations"] or ()) > 1 and c["is_enabled"] and not c["is_paused"]
    ]
    found = location_results(several)
    return {
        c["id"]: CheckLocations(c["name"], tuple(c["locations"]), tuple(found.get(c["id"], ())))
        for c in several
    }


def verdict_due_at(deployed_at: datetime) -> datetime:
    """When a deployment's verdict is computed: once the window after it has passed."""
    return deployed_at + timedelta(seconds=settings.DEPLOY_VERDICT_WINDOW_S)


@dataclass(frozen=True)
class _Schedule:
    """The fields ``late_deadline`` reads, without building a model instance per check."""

    last_ping_at: datetime | None
    created_at: datetime
    interval_s: int
    grace_s: int
    cron: str


def late_since(check: dict, now: datetime) -> datetime | None:
    """The deadline a heartbeat check (read with CHECK_FIELDS) has missed, or None."""
    schedule = _Schedule(
        check["last_ping_at"], check["created_at"], check["interval_s"], check["grace_s"],
        check["cron"],
    )  # fmt: skip
    return late_deadline(schedule, now=now)


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
