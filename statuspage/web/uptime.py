"""Uptime as every page writes and colours it: the public bars and badges, the team and
service pages, and the service page's day bar.

A figure is truncated, never rounded up: 99.999 reads 99.99%, not a perfect 100%. Its
level (good, fair, poor, bad) names the CSS class beside it; the figure is always written
too, so colour is never the only sign.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DayCell:
    day: str  # YYYY-MM-DD (a day of the page's time zone, statuspage.core.days)
    uptime_pct: float | None


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
            f"{cell.day}: {format_pct(cell.uptime_pct)} up"
            if cell.uptime_pct is not None
            else f"{cell.day}: no data"
        )
        parts.append(
            f'<rect class="u-{uptime_level(cell.uptime_pct)}" x="{index * (cell_w + gap)}" y="0" '
            f'width="{cell_w}" height="{height}" rx="1.5" role="img" '
            f'aria-label="{escape(text)}"><title>{escape(text)}</title></rect>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)
