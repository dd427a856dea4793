"""Uptime as every page writes and colours it: the public bars and badges, the team and
service pages, and the service page's day bar.

A figure is truncated, never rounded up: 99.999 reads 99.99%, not a perfect 100%. Its
level (good, fair, poor, bad) names the CSS class beside it; the figure is always written
too, so colour is never the only sign.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Lower bounds of the levels, best first; below the last is "bad".
LEVEL_BOUNDS = (99.9, 99.0, 95.0)
LEVEL_NAMES = ("good", "fair", "poor", "bad")


def format_pct(value: float | None, *, missing: str = "—", trim: bool = True) -> str:
    """Uptime as people read it: 100%, 99.95%, 97% (``trim`` drops a ".00"); ``missing``
    without data."""
    if value is None:
        return missing
    if value >= 100:
        return "100%"
    text = f"{math.floor(value * 100) / 100:.2f}%"
    return text.replace(".00%", "%") if trim else text


def uptime_rank(pct: float | None) -> int | None:
    """0 (good) to 3 (bad); None without data."""
    if pct is None:
        return None
    return next((rank for rank, bound in enumerate(LEVEL_BOUNDS) if pct >= bound), 3)


def uptime_level(pct: float | None) -> str:
    """CSS class of an uptime figure: good, fair, poor, bad, or none."""
    rank = uptime_rank(pct)
    return "none" if rank is None else LEVEL_NAMES[rank]


@dataclass(frozen=True, slots=True, eq=False)
class DayCell:
    """One day of a service's uptime bar (public page, service page): results that day and,
    on the public page, the incidents open.

    Cells with the same content are the same object (built once, then shared), compared
    and hashed by identity: most days of most services look alike.
    """

    day: date
    available: int  # up or degraded results
    counted: int  # results that count for uptime (maintenance excluded)
    maintenance: int  # results inside a maintenance window
    incidents: tuple[str, ...] = ()
    impact: str | None = None  # worst impact of that day's incidents

    @property
    def uptime(self) -> float | None:
        """Percent, truncated to hundredths (99.999 is not 100); None: nothing measured."""
        if not self.counted:
            return None
        return (10_000 * self.available // self.counted) / 100


def day_bar(cells: Sequence[DayCell], *, title: str) -> SafeString:
    """The 90-day bar: a cell per day, each named with its date and uptime."""
    cell_w, gap, height = 8, 2, 34
    width = len(cells) * (cell_w + gap) - gap
    parts = [
        f'<svg class="day-bar" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="{escape(title)}">'
    ]
    for index, cell in enumerate(cells):
        text = (
            f"{cell.day.isoformat()}: {format_pct(cell.uptime)} up"
            if cell.uptime is not None
            else f"{cell.day.isoformat()}: no data"
        )
        parts.append(
            f'<rect class="u-{uptime_level(cell.uptime)}" x="{index * (cell_w + gap)}" y="0" '
            f'width="{cell_w}" height="{height}" rx="1.5" role="img" '
            f'aria-label="{escape(text)}"><title>{escape(text)}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)
