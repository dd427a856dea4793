"""Flapping: a check that changes state ALERTS_FLAP_TRANSITIONS times within
ALERTS_FLAP_MINUTES sends one "flapping" message, then stays quiet until it has kept one
state for ALERTS_FLAP_MINUTES; then its state is announced again if it differs from the
last one announced (``flaps_settle``, run by the periodic sweep).

The transition write holds the check's row lock while this runs, so two batches of one
check never decide at once; the open flap is unique per check besides.
"""

import enum
from datetime import datetime, timedelta

from django.conf import settings

from checks.models import Transition
from statuspage.alerts.ack_models import Flap


class FlapStep(enum.Enum):
    NORMAL = "normal"  # announce the change as usual
    STARTED = "started"  # send the one "flapping" message
    QUIET = "quiet"  # flapping goes on: say nothing


DEFAULT_TRANSITIONS = 5
DEFAULT_MINUTES = 10


def flap_window() -> timedelta:
    return timedelta(minutes=getattr(settings, "ALERTS_FLAP_MINUTES", DEFAULT_MINUTES))


def flap_threshold() -> int:
    return getattr(settings, "ALERTS_FLAP_TRANSITIONS", DEFAULT_TRANSITIONS)


def flap_observe(*, check_id: int, at: datetime) -> tuple[FlapStep, int]:
    """Decide what a transition of the check at ``at`` means; the transitions counted.

    The transition itself is already written, so it is among those counted.
    """
    window = flap_window()
    flap = Flap.objects.filter(check_ref_id=check_id, ended_at__isnull=True).first()
    if flap is not None:
        if at - flap.last_transition_at < window:
            flap.last_transition_at = max(flap.last_transition_at, at)
            flap.transitions += 1
            flap.save(update_fields=["last_transition_at", "transitions"])
            return FlapStep.QUIET, flap.transitions
        # Stable for a whole window before this change: the flap is over, this is news.
        flap.ended_at = flap.last_transition_at + window
        flap.save(update_fields=["ended_at"])
    count = Transition.objects.filter(check_ref_id=check_id, at__gt=at - window, at__lte=at).count()
    if count >= flap_threshold():
        Flap.objects.create(
            check_ref_id=check_id, since=at, last_transition_at=at, transitions=count
        )
        return FlapStep.STARTED, count
    return FlapStep.NORMAL, count


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
