"""Server-rendered SVG charts: the team page sparkline, the latency and uptime charts of
the service page (its day bar and the uptime formatting live in ``statuspage.web.uptime``).

Every function returns markup that is safe to insert: each piece of text passes through
``escape``. Colours come from CSS classes in static/css/app.css (the page's style policy
allows no inline styles), so the charts follow the light and dark themes.
"""

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from statuspage.web.uptime import day_bar as day_bar
from statuspage.web.uptime import format_pct, uptime_level

MIN_LATENCY_AXIS_MS = 20.0


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return "<1 ms"
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """An SVG path through the points; None breaks the line."""
    parts = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{_num(point[0])} {_num(point[1])}")
        pen_down = True
    return " ".join(parts)


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step (1, 2, 2.5 or 5 x 10^k)."""
    if value <= 0:
        return 1.0, 0.25
    raw_step = value / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw_step:
            break
    return step * math.ceil(value / step - 1e-9), step


# ------------------------------------------------------------------------- sparkline


def sparkline(
    points: Sequence[float | None],
    *,
    threshold_ms: float | None = None,
    label: str,
    width: int = 96,
    height: int = 24,
) -> SafeString:
    """A small line of hourly latency; a dashed line marks the threshold when it is near.

    Drawn in tenths of a pixel (the viewBox is ten times the size) so that every coordinate
    is a whole number: the team page draws hundreds of these. The drawing depends on its
    arguments only, and a service's points change once a minute at most (when the rollups
    are recomputed) while the page refreshes every 15 s, so drawings are kept per process.
    """
    return _sparkline(tuple(points), threshold_ms, label, width, height)


def sparkline_drawings_forget() -> None:
    """Drop the kept drawings (benchmarks measure the page with every line drawn anew)."""
    _sparkline.cache_clear()


@lru_cache(maxsize=8192)
def _sparkline(
    points: tuple[float | None, ...],
    threshold_ms: float | None,
    label: str,
    width: int,
    height: int,
) -> SafeString:
    values = [v for v in points if v is not None]
    if len(values) < 2:  # one hour is a dot, not a line: the figure beside it says it all
        return mark_safe("")
    top = max(values)
    show_threshold = threshold_ms is not None and threshold_ms <= 2 * top
    if show_threshold:
        top = max(top, threshold_ms)
    top = max(top * 1.1, 1.0)
    pad = 20
    scale = (height * 10 - 2 * pad) / top
    base = height * 10 - pad
    coords = [
        None if v is None else f"{x} {int(base - v * scale)}"
        for x, v in zip(_spark_xs(len(points), width * 10, pad), points, strict=True)
    ]
    if None in coords:  # gaps: a new segment after each
        runs = "".join("|" if c is None else f"L{c}" for c in coords).split("|")
        path = " ".join("M" + run[1:] for run in runs if run)
    else:
        path = "M" + "L".join(coords)
    cx, cy = next(c for c in reversed(coords) if c is not None).split()
    summary = html.escape(
        f"{label}: {format_ms(min(values))} to {format_ms(max(values))}, "
        f"latest {format_ms(values[-1])}"
    )
    limit = ""
    if show_threshold:
        ty = int(base - threshold_ms * scale)
        limit = f'<line class="spark-limit" x1="0" x2="{width * 10}" y1="{ty}" y2="{ty}"/>'
    return mark_safe(  # noqa: S308  (numbers and escaped text only)
        f'<svg class="spark" width="{width}" height="{height}" '
        f'viewBox="0 0 {width * 10} {height * 10}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>{limit}"
        f'<path class="spark-line" d="{path}"/>'
        f'<circle class="spark-dot" cx="{cx}" cy="{cy}" r="20"/></svg>'
    )


@cache
def _spark_xs(count: int, width: int, pad: int) -> tuple[str, ...]:
    step = (width - 2 * pad) / max(count - 1, 1)
    return tuple(str(round(pad + i * step)) for i in range(count))


# ------------------------------------------------------------------- service page charts


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime
    p50_ms: float | None
    p95_ms: float | None
    uptime_pct: float | None


@dataclass(frozen=True)
class Marker:
    """A deployment drawn on the latency chart; ``label`` says what it changed."""

    at: datetime
    title: str
    label: str
    href: str
    verdict: str


@dataclass(frozen=True)
class Frame:
    """Plot area and time scale shared by the latency and uptime charts."""

    start: datetime
    end: datetime
    width: int = 960
    height: int = 220
    left: int = 56
    right: int = 16
    top: int = 14
    bottom: int = 26

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return self.left + self.plot_width * min(max(share, 0.0), 1.0)


def _time_ticks(start: datetime, end: datetime) -> tuple[list[datetime], str]:
    """Tick times on round wall-clock times of the viewer's zone, and their strftime format."""
    zone = timezone.get_current_timezone()
    span = end - start
    local = timezone.localtime(start, zone).replace(tzinfo=None)
    if span <= timedelta(days=1, hours=1):
        every, fmt = timedelta(hours=4), "%H:%M"
        wall = local.replace(minute=0, second=0, microsecond=0)
        wall += timedelta(hours=(4 - wall.hour % 4) % 4)
    elif span <= timedelta(days=100):
        days = 1 if span <= timedelta(days=8) else 5 if span <= timedelta(days=31) else 15
        every, fmt = timedelta(days=days), "%a %d" if days == 1 else "%b %d"
        wall = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        every, fmt = None, "%b"
        wall = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    while (tick := timezone.make_aware(wall, zone)) <= end:
        if tick >= start:
            ticks.append(tick)
        # Stepping on the wall clock keeps ticks on midnight across DST changes.
        wall = (wall + timedelta(days=32)).replace(day=1) if every is None else wall + every
    return ticks, fmt


def _x_axis(frame: Frame) -> list[str]:
    ticks, fmt = _time_ticks(frame.start, frame.end)
    base = frame.height - frame.bottom
    parts = [
        f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
        f'y1="{base}" y2="{base}"/>'
    ]
    for tick in ticks:
        x = _num(frame.x(tick))
        parts.append(f'<line class="tick" x1="{x}" x2="{x}" y1="{base}" y2="{base + 4}"/>')
        parts.append(
            f'<text class="tick-label" x="{x}" y="{base + 17}" text-anchor="middle">'
            f"{escape(tick.strftime(fmt))}</text>"
        )
    return parts


def _y_axis(frame: Frame, top: float, step: float, unit: str) -> list[str]:
    parts = []
    value = 0.0
    while value <= top + 1e-9:
        y = _num(frame.top + frame.plot_height * (1 - value / top))
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y}" y2="{y}"/>'
        )
        text = format_ms(value) if unit == "ms" else f"{_num(value)}%"
        if unit == "ms" and value == 0:
            text = "0"
        parts.append(
            f'<text class="tick-label" x="{frame.left - 6}" y="{y}" dy="4" '
            f'text-anchor="end">{escape(text)}</text>'
        )
        value += step
    return parts


def latency_chart(
    series: Sequence[SeriesPoint],
    *,
    frame: Frame,
    bucket: timedelta,
    markers: Sequence[Marker] = (),
    threshold_ms: float | None = None,
    title: str,
    chart_id: str = "latency",
) -> SafeString:
    """p50 and p95 lines over time, the threshold, and a focusable marker per deployment.

    The lines are drawn for sighted readers (their figures are in the description and
    the tables beside the chart); each marker is a link with its own accessible name.
    """
    highs = [p.p95_ms for p in series if p.p95_ms is not None]
    top_value = max(highs, default=0.0)
    if threshold_ms is not None and threshold_ms <= 4 * max(top_value, 1.0):
        top_value = max(top_value, threshold_ms)
    # A floor for the axis: with little or no data its ticks would read "<1 ms" four times.
    top, step = nice_ceiling(max(top_value * 1.1, MIN_LATENCY_AXIS_MS))

    def y(v: float) -> float:
        return frame.top + frame.plot_height * (1 - v / top)

    def coords_of(attr: str) -> list[tuple[float, float] | None]:
        coords: list[tuple[float, float] | None] = []
        previous: datetime | None = None
        for point in series:
            value = getattr(point, attr)
            if previous is not None and point.start - previous > bucket:
                coords.append(None)  # a gap in the data is a gap in the line
            coords.append(None if value is None else (frame.x(point.start + bucket / 2), y(value)))
            previous = point.start
        return coords

    def line(attr: str) -> str:
        coords = coords_of(attr)
        return f'<path class="line-{attr[:3]}" d="{_path(coords)}"/>' + _dots(coords, attr[:3])

    p50s = [p.p50_ms for p in series if p.p50_ms is not None]
    if p50s:
        desc = (
            f"p50 between {format_ms(min(p50s))} and {format_ms(max(p50s))}, p95 up to "
            f"{format_ms(max(highs, default=None))}; {len(markers)} deployment(s) marked."
        )
    else:
        desc = f"No latency recorded in this period; {len(markers)} deployment(s) marked."
    parts = [
        f'<svg class="chart" viewBox="0 0 {frame.width} {frame.height}" role="group" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc><g aria-hidden="true">',
        *_y_axis(frame, top, step, "ms"),
        *_x_axis(frame),
    ]
    if threshold_ms is not None and threshold_ms <= top:
        ty = _num(y(threshold_ms))
        parts.append(
            f'<line class="limit" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{ty}" y2="{ty}"/><text class="limit-label" x="{frame.width - frame.right - 4}" '
            f'y="{ty}" dy="-4" text-anchor="end">limit {escape(format_ms(threshold_ms))}</text>'
        )
    if not p50s:
        parts.append(_no_data(frame, "No latency recorded in this period"))
    parts.append(line("p95_ms"))
    parts.append(line("p50_ms") + "</g>")
    base = frame.height - frame.bottom
    for marker in markers:
        x = _num(frame.x(marker.at))
        parts.append(
            f'<a class="marker verdict-{escape(marker.verdict)}" href="{escape(marker.href)}" '
            f'aria-label="{escape(marker.label)}"><title>{escape(marker.label)}</title>'
            f'<line class="marker-line" x1="{x}" x2="{x}" y1="{frame.top}" y2="{base}"/>'
            f'<rect class="marker-hit" x="{_num(float(x) - 7)}" y="{frame.top - 12}" '
            f'width="14" height="{base - frame.top + 12}"/>'
            f'<path class="marker-flag" d="M{_num(float(x) - 6)} {frame.top - 12}h12l-6 10z"/>'
            "</a>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)


def _dots(coords: Sequence[tuple[float, float] | None], name: str) -> str:
    """A dot for each point without a neighbour: a line through one point draws nothing."""
    dots = []
    for index, point in enumerate(coords):
        before = coords[index - 1] if index > 0 else None
        after = coords[index + 1] if index + 1 < len(coords) else None
        if point is not None and before is None and after is None:
            dots.append(
                f'<circle class="dot-{name}" cx="{_num(point[0])}" cy="{_num(point[1])}" r="3"/>'
            )
    return "".join(dots)


def _no_data(frame: Frame, text: str) -> str:
    x = _num(frame.left + frame.plot_width / 2)
    y = _num(frame.top + frame.plot_height / 2)
    return f'<text class="no-data" x="{x}" y="{y}" text-anchor="middle">{escape(text)}</text>'


def uptime_chart(
    series: Sequence[SeriesPoint],
    *,
    frame: Frame,
    bucket: timedelta,
    title: str,
    summary: str,
    label_format: str,
) -> SafeString:
    """One bar per hour or day, its height the uptime (the axis starts below the worst)."""
    values = [p.uptime_pct for p in series if p.uptime_pct is not None]
    floor = 90.0 if min(values, default=100.0) >= 90 else 0.0
    span = 100.0 - floor
    slot = frame.plot_width * (bucket / (frame.end - frame.start))
    bar = max(slot - 1, 1.0)
    parts = [
        f'<svg class="chart chart-uptime" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{escape(title)}: {escape(summary)}"><title>{escape(title)}</title>'
    ]
    value = floor
    while value <= 100:
        y = _num(frame.top + frame.plot_height * (1 - (value - floor) / span))
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y}" y2="{y}"/><text class="tick-label" x="{frame.left - 6}" y="{y}" dy="4" '
            f'text-anchor="end">{_num(value)}%</text>'
        )
        value += span / 2
    parts.extend(_x_axis(frame))
    if not values:
        parts.append(_no_data(frame, "No results in this period"))
    base = frame.height - frame.bottom
    for point in series:
        if point.uptime_pct is None:
            continue
        share = max(point.uptime_pct - floor, 0.0) / span
        height = max(frame.plot_height * share, 1.5)
        when = timezone.localtime(point.start).strftime(label_format)
        parts.append(
            f'<rect class="bar u-{uptime_level(point.uptime_pct)}" '
            f'x="{_num(frame.x(point.start))}" y="{_num(base - height)}" width="{_num(bar)}" '
            f'height="{_num(height)}"><title>{escape(when)}: '
            f"{escape(format_pct(point.uptime_pct))} up</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)
