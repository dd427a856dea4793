"""Check locations: the places probes run from, and the quorum that decides a slot.

Each name of CHECK_LOCATIONS is one Celery queue; a worker started with ``-Q`` on that queue
runs the probes of that location only. The first name is the default location: a check
that names no location runs there, on the "probes" queue that every worker started
without ``-Q`` consumes, so a single-location installation has nothing to set up.

Results of a check with one location are stored as they always were, with an empty
location. A check with several locations stores one row per location and slot (named), and
the slot's outcome, decided by ``checks.quorum``, as the row with the empty location: the
one row pages, rollups and the state machine read.
"""

import re
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_QUEUE = "probes"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# The location column of the slot's outcome row (and of every single-location result).
DECIDED = ""


def locations_configured() -> list[str]:
    """CHECK_LOCATIONS, checked: distinct short names, at least one."""
    names = list(settings.CHECK_LOCATIONS)
    bad = [name for name in names if not NAME.match(name)]
    if not names or bad or len(set(names)) != len(names):
        raise ImproperlyConfigured(
            "CHECK_LOCATIONS: give distinct names of lowercase letters, digits and dashes "
            f"(at most 32 characters), the default location first; got {names!r}"
        )
    return names


def location_queue(name: str) -> str:
    """The Celery queue of a location's probes."""
    return DEFAULT_QUEUE if name == locations_configured()[0] else f"{DEFAULT_QUEUE}.{name}"


def check_locations(names: Sequence[str] | None) -> list[str]:
    """Where a check runs: its own locations, or the default location if it names none."""
    return list(names) if names else [locations_configured()[0]]


def quorum_needed(*, locations: int, override: int | None = None) -> int:
    """How many of a check's locations must see it down: its own quorum, CHECK_QUORUM, or a
    majority; never more than it has locations."""
    wanted = override or settings.CHECK_QUORUM or locations // 2 + 1
    return max(1, min(wanted, locations))


def locations_errors(names: object, quorum: int | None) -> dict[str, list[str]]:
    """Problems of a check's locations and quorum, by field (for checks.definitions)."""
    if names in (None, ""):
        names = []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return {"locations": ["must be a list of location names"]}
    known = locations_configured()
    unknown = [name for name in names if name not in known]
    if unknown:
        return {
            "locations": [
                f"unknown location(s) {', '.join(unknown)}: use one of {', '.join(known)} "
                "(setting CHECK_LOCATIONS)"
            ]
        }
    if len(set(names)) != len(names):
        return {"locations": ["a location is named twice"]}
    if quorum is not None and not 1 <= quorum <= max(1, len(names)):
        return {"quorum": ["the quorum must be between 1 and the number of locations"]}
    return {}
