"""Flapping: a check that changes state ALERTS_FLAP_TRANSITIONS times within
ALERTS_FLAP_MINUTES sends one "flapping" message, then stays quiet until it has kept one
state for ALERTS_FLAP_MINUTES; then its state is announced again if it differs from the
last one announced (``flaps_settled``, run by the periodic sweep).

The transition write holds the checks' row locks while this runs, so two batches of one
check never decide at once; the open flap is unique per check besides.
"""

import enum
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from checks.models import Transition
from statuspage.alerts.ack_models import Flap
from statuspage.core.sql import in_ids

DEFAULT_TRANSITIONS = 5
DEFAULT_MINUTES = 10


class FlapStep(enum.Enum):
    NORMAL = "normal"  # announce the change as usual
    STARTED = "started"  # send the one "flapping" message
    QUIET = "quiet"  # flapping goes on: say nothing


def flap_window() -> timedelta:
    return timedelta(minutes=getattr(settings, "ALERTS_FLAP_MINUTES", DEFAULT_MINUTES))


def flap_threshold() -> int:
    return getattr(settings, "ALERTS_FLAP_TRANSITIONS", DEFAULT_TRANSITIONS)


class FlapBook:
    """The open flaps and recent transitions of a batch's checks, read in two queries (a
    storm moves many checks at once), and the decisions taken on them."""

    def __init__(self, check_ids: Iterable[int], *, earliest: datetime, latest: datetime):
        ids = list(check_ids)
        self.window = flap_window()
        self.threshold = flap_threshold()
        self.open = {
            f.check_ref_id: f
            for f in Flap.objects.filter(in_ids("check_ref_id", ids), ended_at__isnull=True)
        }
        self.times: dict[int, list[datetime]] = defaultdict(list)
        for check_id, moment in _recent_transitions(ids, earliest - self.window, latest):
            self.times[check_id].append(moment)

    def observe(self, check_id: int, at: datetime) -> tuple[FlapStep, int]:
        """What a transition of the check at ``at`` means; the transitions counted. The
        transition itself is written already, so it is among those counted."""
        flap = self.open.get(check_id)
        if flap is not None:
            if at - flap.last_transition_at < self.window:
                flap.last_transition_at = max(flap.last_transition_at, at)
                flap.transitions += 1
                flap.save(update_fields=["last_transition_at", "transitions"])
                return FlapStep.QUIET, flap.transitions
            # Stable for a whole window before this change: the flap is over, this is news.
            flap.ended_at = flap.last_transition_at + self.window
            flap.save(update_fields=["ended_at"])
            del self.open[check_id]
        count = sum(1 for t in self.times.get(check_id, ()) if at - self.window < t <= at)
        if count >= self.threshold:
            self.open[check_id] = Flap.objects.create(
                check_ref_id=check_id, since=at, last_transition_at=at, transitions=count
            )
            return FlapStep.STARTED, count
        return FlapStep.NORMAL, count


# PostgreSQL: each check's transitions through the (check, time) index, one index probe
# per check, whatever the table's statistics say. After many checks are created at once,
# the transitions table grows by one row per check within the first minute, before
# ANALYZE has seen it: joined as a set, it was read whole for every batch of results.
# OFFSET 0 keeps the per-check subquery from being merged into such a join.
_RECENT = (
    "SELECT v.id, t.at FROM unnest(%s::bigint[]) AS v(id) CROSS JOIN LATERAL "
    "(SELECT at FROM checks_transition WHERE check_id = v.id AND at > %s AND at <= %s "
    "OFFSET 0) AS t"
)


def _recent_transitions(
    check_ids: list[int], after: datetime, until: datetime
) -> Iterable[tuple[int, datetime]]:
    """(check id, time) of the checks' transitions in (after, until]."""
    if connection.vendor != "postgresql":
        return Transition.objects.filter(
            in_ids("check_ref_id", check_ids), at__gt=after, at__lte=until
        ).values_list("check_ref_id", "at")
    with connection.cursor() as cursor:
        cursor.execute(_RECENT, [sorted(set(check_ids)), after, until])
        return cursor.fetchall()


def flaps_settled(*, now: datetime) -> list[Flap]:
    """Close the flaps whose check kept one state for a whole window; return them."""
    cutoff = now - flap_window()
    settled = list(
        Flap.objects.select_for_update(skip_locked=True)
        .filter(ended_at__isnull=True, last_transition_at__lte=cutoff)
        .order_by("pk")
    )
    for flap in settled:
        flap.ended_at = now
        flap.save(update_fields=["ended_at"])
    return settled
