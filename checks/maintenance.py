"""Maintenance windows as the engine sees them: "was this service in maintenance at t?".

Scheduled maintenance belongs to the incidents app, which sits above the engine; it calls
``maintenance_windows_sync`` whenever a maintenance is scheduled, started, completed or
edited, and the engine reads only its own ``MaintenanceWindow`` rows. Hourly rollups count
results inside a window as maintenance; notification suppression is meant to read the same
rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checks.models import MaintenanceWindow
from checks.rollups import day_start, hour_start

# An open window (no end yet) reaches this far for the arithmetic below.
_OPEN_END = datetime.max.replace(tzinfo=UTC)

Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class WindowSync:
    created: int
    updated: int
    deleted: int
    # Past hours whose rollups are recomputed by a task after commit.
    hours_queued: int


def _changed_spans(old: Range | None, new: Range | None) -> list[Range]:
    """The time spans whose "inside a window?" answer differs between ``old`` and ``new``."""
    if old == new:
        return []
    if old is None or new is None:
        return [old or new]
    spans = []
    if old[0] != new[0]:
        spans.append((min(old[0], new[0]), max(old[0], new[0])))
    if old[1] != new[1]:
        spans.append((min(old[1], new[1]), max(old[1], new[1])))
    return spans


def _hours_in(spans: Iterable[Range], *, now: datetime) -> list[datetime]:
    """Starts of the past hours (within raw-result retention) that the spans touch."""
    oldest = now - timedelta(days=settings.RESULT_RETENTION_DAYS)
    hours: set[datetime] = set()
    for span_start, span_end in spans:
        first = hour_start(max(span_start, oldest).astimezone(UTC))
        last = min(span_end, now).astimezone(UTC)
        hour = first
        while hour < last:
            hours.add(hour)
            hour += timedelta(hours=1)
    return sorted(hours)


def maintenance_windows_sync(
    *,
    source_id: int,
    service_ids: Iterable[int],
    starts_at: datetime | None,
    ends_at: datetime | None,
    now: datetime | None = None,
) -> WindowSync:
    """Make the windows of maintenance ``source_id``: one per service, [starts_at, ends_at).

    ``ends_at`` None leaves the window open (a maintenance running with no end decided).
    ``starts_at`` None, no services, or an empty range removes the source's windows.

    1. Lock the source's current rows (callers already hold their maintenance's row lock;
       this keeps two syncs of one source from interleaving regardless).
    2. Delete the rows of services no longer listed, update the changed, create the new.
    3. After commit, queue the recomputation of the past hours whose coverage changed,
       within raw-result retention, so a window recorded, moved or closed after the fact
       still counts. It runs on a worker: a month of hours for every check is too much
       for a web request. Hours from now on need nothing: the periodic rollup computes
       them with the windows as they are.
    """
    now = now or timezone.now()
    wanted: Range | None = None
    if starts_at is not None and (ends_at is None or ends_at > starts_at):
        wanted = (starts_at, ends_at or _OPEN_END)
    ids = set(service_ids) if wanted else set()
    created = updated = deleted = 0
    spans: list[Range] = []
    with transaction.atomic():
        current = {
            w.service_id: w
            for w in MaintenanceWindow.objects.select_for_update().filter(source_id=source_id)
        }
        gone = [w for service_id, w in current.items() if service_id not in ids]
        for window in gone:
            spans += _changed_spans((window.starts_at, window.ends_at or _OPEN_END), None)
        if gone:
            deleted = MaintenanceWindow.objects.filter(pk__in=[w.pk for w in gone]).delete()[0]
        new_rows = []
        for service_id in sorted(ids):
            window = current.get(service_id)
            if window is None:
                spans += _changed_spans(None, wanted)
                new_rows.append(
                    MaintenanceWindow(
                        service_id=service_id,
                        source_id=source_id,
                        starts_at=starts_at,
                        ends_at=ends_at,
                    )
                )
                continue
            old = (window.starts_at, window.ends_at or _OPEN_END)
            if old != wanted:
                spans += _changed_spans(old, wanted)
                window.starts_at, window.ends_at = starts_at, ends_at
                window.save(update_fields=["starts_at", "ends_at"])
                updated += 1
        created = len(MaintenanceWindow.objects.bulk_create(new_rows))
        hours = _hours_in(spans, now=now)
        if hours:
            transaction.on_commit(partial(rollups_recompute_queue, hours=hours))
    return WindowSync(created=created, updated=updated, deleted=deleted, hours_queued=len(hours))


def rollups_recompute_queue(*, hours: Iterable[datetime]) -> int:
    """Queue ``checks.rollups_recompute`` for ``hours``: one task per day, so a window moved
    by a month is many short tasks rather than one that outlives its time limit. The
    number of tasks queued."""
    by_day: dict[datetime, list[int]] = {}
    for hour in sorted(hours):
        by_day.setdefault(day_start(hour), []).append(int(hour.timestamp()))
    from checks.tasks import rollups_recompute

    for day_hours in by_day.values():
        rollups_recompute.delay(day_hours)
    return len(by_day)
