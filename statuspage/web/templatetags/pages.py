"""Formatting for the team pages: times in the viewer's zone, figures, status badges.

``{% load pages %}``. Times: ``{{ when|reltime }}`` gives "5 minutes ago" inside a
``<time>`` element whose ``datetime`` is the ISO time and whose ``title`` is the absolute
time, both in the zone the middleware activated for the viewer. A status is always shown
as a word with an icon and a colour, never colour alone.
"""

import html
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cache

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from checks.models import Outcome, State, Verdict
from statuspage.catalog.models import Tier
from statuspage.core.markdown import render_markdown
from statuspage.web import charts
from statuspage.web.selectors_common import STATUS_LABELS, CheckLocations, verdict_due_at
from statuspage.web.team_row_sources import LastDeployment
from statuspage.web.team_selectors import Jobs, Latency, ServiceRow

register = template.Library()

# 16x16 icons drawn in the text colour; hidden from assistive technology (the word says it).
_ICONS = {
    "ok": '<path d="M3.5 8.5l3 3 6-7" fill="none" stroke="currentColor" stroke-width="2.2"/>',
    "warn": '<path d="M8 1.5L15 14H1z" fill="currentColor"/>',
    "half": '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2"/>'
    '<path d="M8 2a6 6 0 0 1 0 12z" fill="currentColor"/>',
    "down": '<circle cx="8" cy="8" r="7" fill="currentColor"/>'
    '<path class="icon-cut" d="M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6" stroke-width="2"/>',
    "wrench": '<rect x="2" y="2" width="12" height="12" rx="2" fill="none" '
    'stroke="currentColor" stroke-width="2"/><path d="M5 11l6-6" stroke="currentColor" '
    'stroke-width="2"/>',
    "pause": '<path d="M4 2.5h3v11H4zM9 2.5h3v11H9z" fill="currentColor"/>',
    "unknown": '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" '
    'stroke-width="2" stroke-dasharray="3 2"/>',
    "equal": '<path d="M3 5.5h10M3 10.5h10" stroke="currentColor" stroke-width="2"/>',
    "clock": '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.8"/>'
    '<path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.8"/>',
}

# Service statuses (checks.status.ServiceStatus) and check states share one look.
_STATUS_LOOK = {
    "operational": ("ok", "ok"),
    "degraded": ("warn", "warn"),
    "partial_outage": ("half", "partial"),
    "major_outage": ("down", "down"),
    "maintenance": ("wrench", "info"),
    "paused": ("pause", "muted"),
    "unknown": ("unknown", "muted"),
    State.UP: ("ok", "ok"),
    State.DOWN: ("down", "down"),
}
_VERDICT_LOOK = {
    Verdict.IMPROVED: ("ok", "ok", "Improved"),
    Verdict.UNCHANGED: ("equal", "muted", "Unchanged"),
    Verdict.REGRESSED: ("warn", "down", "Regressed"),
    Verdict.INSUFFICIENT_DATA: ("unknown", "muted", "Too little data"),
    "pending": ("clock", "muted", "Pending"),
}


def _icon(name: str) -> str:
    return (
        '<svg class="icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" '
        f'focusable="false">{_ICONS[name]}</svg>'
    )


@cache
def _badge(icon: str, tone: str, label: str) -> SafeString:
    return format_html(
        '<span class="badge tone-{}">{}<span class="badge-text">{}</span></span>',
        tone,
        mark_safe(_icon(icon)),  # noqa: S308  (constant markup above)
        label,
    )


@register.filter
def status_badge(status: str) -> SafeString:
    """A service status or a check state as icon + word, coloured by its tone."""
    icon, tone = _STATUS_LOOK.get(status, ("unknown", "muted"))
    label = STATUS_LABELS.get(status) or State(status).label
    return _badge(icon, tone, label)


@register.filter
def verdict_badge(verdict: str) -> SafeString:
    icon, tone, label = _VERDICT_LOOK.get(verdict, _VERDICT_LOOK["pending"])
    return _badge(icon, tone, label)


@register.filter
def tone(status: str) -> str:
    """The colour family of a status (ok, warn, partial, down, info, muted) for CSS."""
    return _STATUS_LOOK.get(status, ("unknown", "muted"))[1]


_UNITS = ((86_400 * 365, "year"), (86_400 * 30, "month"), (86_400 * 7, "week"),
          (86_400, "day"), (3_600, "hour"), (60, "minute"))  # fmt: skip


def _relative(value: datetime, now: datetime) -> str:
    """'5 minutes ago', 'in 2 hours', 'just now': the largest whole unit, like timesince
    but a tenth of its cost (the team page shows hundreds of times)."""
    seconds = (now - value).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    for size, unit in _UNITS:
        count = int(abs(seconds) // size)
        if count:
            words = f"{count}\xa0{unit}{'' if count == 1 else 's'}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "just now"


def time_html(value: datetime, *, zone: tzinfo, now: datetime, relative: bool = True) -> str:
    """``<time>``: relative text with the absolute time on hover, or the other way round.

    The ISO form is written once and the absolute text cut from it (``strftime`` and the
    zone lookup cost more than the rest together when a page shows hundreds of times).
    """
    local = value.astimezone(zone)
    iso = local.isoformat(timespec="seconds")
    zone_name = html.escape(local.tzname() or "")
    if relative:
        text, hover = _relative(value, now), f"{iso[:10]} {iso[11:19]} {zone_name}"
    else:
        text, hover = f"{iso[:10]} {iso[11:16]} {zone_name}", _relative(value, now)
    return f'<time datetime="{iso}" title="{hover}">{text}</time>'


@register.filter
def reltime(value: datetime | None) -> SafeString | str:
    """``<time>`` with a relative text and the absolute time (viewer's zone) on hover."""
    if value is None:
        return "—"
    zone = timezone.get_current_timezone()
    return mark_safe(time_html(value, zone=zone, now=timezone.now()))  # noqa: S308


@register.filter
def abstime(value: datetime | None) -> SafeString | str:
    """``<time>`` with the absolute time in the viewer's zone, and the relative on hover."""
    if value is None:
        return "—"
    zone = timezone.get_current_timezone()
    return mark_safe(time_html(value, zone=zone, now=timezone.now(), relative=False))  # noqa: S308


@register.filter
def runbook_markdown(text: str) -> SafeString:
    """A runbook's Markdown, its headings below the "Owner notes" heading (h2) they sit in."""
    return render_markdown(text, top_heading=3)


@register.filter
def verdict_due(deployed_at: datetime, zone: tzinfo | None = None) -> str:
    """'due at 14:35': when a pending deployment's verdict is computed, in the viewer's zone
    (the comparison waits for the window after the deployment to pass)."""
    due = verdict_due_at(deployed_at).astimezone(zone or timezone.get_current_timezone())
    return f"due at {due:%H:%M}"


@register.filter
def ms(value: float | None) -> str:
    return charts.format_ms(value)


@register.filter
def pct(value: float | None) -> str:
    return charts.format_pct(value)


@register.filter
def signed_pct(value: float | None) -> str:
    """+18% / -12% (written with a real minus sign, U+2212), or a dash."""
    if value is None:
        return "—"
    if round(value) == 0:
        return "±0%"
    return f"+{value:.0f}%" if value > 0 else f"\u2212{abs(value):.0f}%"


@register.filter
def change(before: float | None, after: float | None) -> str:
    """'120 ms → 95 ms' for a before/after pair of latencies."""
    return f"{charts.format_ms(before)} → {charts.format_ms(after)}"


@register.filter
def pct_change(before: float | None, after: float | None) -> str:
    """'99.9% → 97.2%' for a before/after pair of percentages."""
    return f"{charts.format_pct(before)} → {charts.format_pct(after)}"


@register.filter
def uptime_level(value: float | None) -> str:
    return charts.uptime_level(value)


SPARK_LABEL = "Mean latency per hour, last 24 hours"


@register.filter
def sparkline(latency: Latency | None) -> SafeString | str:
    if latency is None:
        return ""
    return charts.sparkline(latency.points, threshold_ms=latency.threshold_ms, label=SPARK_LABEL)


# ------------------------------------------------------------------ team page rows
# One tag builds every row: the team page lists hundreds of services, and the template
# engine's cost per node (~35 per row) would be most of the page's time. Every value from
# the database goes through _e().


_e = html.escape


def _ms(value: float | None) -> str:
    if value is not None and value < 1:
        return "&lt;1 ms"  # the one form of format_ms that needs escaping
    return charts.format_ms(value)


@cache
def _tier_html(tier: str) -> str:
    return f'<span class="tier tier-{_e(tier)}">{_e(Tier(tier).label)}</span>'


def _latency_cell(latency: Latency | None) -> str:
    if latency is None:
        return '<span class="muted">no request checks</span>'
    over = latency.over_threshold
    now_html = f'<span class="now{" over" if over else ""}">{_ms(latency.now_ms)}</span>'
    if over:
        now_html += ' <span class="flag">over limit</span>'
    limit = _ms(latency.threshold_ms) if latency.threshold_ms else "none"
    baseline = _ms(latency.baseline_ms)
    versus = latency.vs_baseline_pct
    if versus is not None:
        baseline += f" (now {signed_pct(versus)})"
    return (
        f"{now_html} {sparkline(latency)}"
        f'<span class="sub">limit {limit} · 7-day p50 {baseline}</span>'
    )


_ON_TIME = (
    f'<span class="badge tone-ok">{_icon("ok")}<span class="badge-text">{{total}} on time'
    "</span></span>"
)


def _jobs_cell(jobs: Jobs) -> str:
    if not jobs.total:
        return '<span class="muted">none</span>'
    parts = []
    if jobs.failing:
        parts.append(f'<span class="jobs-failing">{jobs.failing} failing</span>')
    if jobs.late:
        parts.append(f'<span class="jobs-late">{jobs.late} late</span>')
    if jobs.ok and jobs.on_time:
        parts.append(_ON_TIME.format(total=jobs.on_time))
    if jobs.waiting:
        parts.append(f'<span class="jobs-waiting">{jobs.waiting} waiting for first ping</span>')
    if not jobs.ok:
        parts.append(f'<span class="sub">of {jobs.total}</span>')
    return " ".join(parts)


# A location's outcome shown as the check state of the same name (icon, word and tone).
_OUTCOME_STATE = {Outcome.UP: State.UP, Outcome.DEGRADED: State.DEGRADED, Outcome.DOWN: State.DOWN}


def _locations_html(seen: CheckLocations, *, named: bool) -> str:
    """What each location of one check saw of its last slot, as a list whose accessible
    name says which check it is; ``named`` also shows the check's name (services with
    several such checks)."""
    check = _e(seen.check_name)
    label = f"{check}, last result by location"
    if not seen.results:
        count = len(seen.locations)
        return (
            f'<p class="locations locations-empty">{check + ": " if named else ""}'
            f"no results from its {count} locations yet</p>"
        )
    head = f'<span class="locations-check">{check}</span>' if named else ""
    items = []
    for r in seen.results:
        state = _OUTCOME_STATE.get(r.outcome)
        word = status_badge(state) if state else '<span class="badge tone-muted">skipped</span>'
        extra = ""
        if r.outcome == Outcome.DOWN and r.detail:
            detail = r.detail if len(r.detail) <= 60 else r.detail[:59] + "…"
            extra = f' <span class="sub">{_e(detail)}</span>'
        elif r.latency_ms is not None:
            extra = f' <span class="sub">{_ms(r.latency_ms)}</span>'
        items.append(f'<li><span class="location">{_e(r.location)}</span> {word}{extra}</li>')
    items += [
        f'<li><span class="location">{_e(name)}</span> <span class="muted">no result</span></li>'
        for name in seen.silent
    ]
    return f'{head}<ul class="locations" aria-label="{label}">{"".join(items)}</ul>'


def _locations_cell(locations: tuple[CheckLocations, ...]) -> str:
    named = len(locations) > 1
    return "".join(_locations_html(seen, named=named) for seen in locations)


@dataclass(frozen=True)
class RowContext:
    """What every row of one page shares: the link that filters by each team, the viewer's
    time zone and the page's "now"."""

    team_links: dict[str, str]
    zone: tzinfo
    now: datetime
    # Team cells built once per team and page.
    team_cells: dict[str, str] = field(default_factory=dict)

    def team_cell(self, slug: str, name: str) -> str:
        """The owner link, without its id (each row's own, added by the caller)."""
        cell = self.team_cells.get(slug)
        if cell is None:
            link = _e(self.team_links.get(slug, ""))
            cell = self.team_cells[slug] = f'href="{link}">{_e(name)}</a>'
        return cell


def _deployment_cell(d: LastDeployment | None, ctx: RowContext) -> str:
    if d is None:
        return '<span class="muted">none recorded</span>'
    figures = ""
    if d.before_p95_ms is not None or d.after_p95_ms is not None:
        figures = f' <span class="sub">p95 {_ms(d.before_p95_ms)} → {_ms(d.after_p95_ms)}</span>'
    when = time_html(d.deployed_at, zone=ctx.zone, now=ctx.now)
    if d.verdict == "pending":
        figures = f' <span class="sub">{verdict_due(d.deployed_at, ctx.zone)}</span>'
    return (
        f'<span class="version">{_e(d.version)}</span> {when}'
        f'<span class="verdict">{verdict_badge(d.verdict)}{figures}</span>'
    )


@register.simple_tag
def service_rows(rows: list[ServiceRow], ctx: RowContext) -> SafeString:
    """``{% service_rows page.rows row_context %}``: the table body, one row per service."""
    return mark_safe("".join(service_row(row, ctx) for row in rows))  # noqa: S308


def service_row(row: ServiceRow, ctx: RowContext) -> str:
    """The table row of one service."""
    slug = _e(row.slug)
    name = _e(row.name)
    rollback = ""
    if row.needs_attention and row.rollback_note:
        note = row.rollback_note if len(row.rollback_note) <= 140 else row.rollback_note[:139] + "…"
        rollback = f'<span class="rollback">Rollback: {_e(note)}</span>'
    # Every link has an id: htmx gives focus back to the element of the same id after
    # it swaps the refreshed rows in, so a keyboard user keeps their place.
    notes = (
        f'<a id="notes-{slug}" href="/services/{slug}/#notes">Notes'
        f'<span class="visually-hidden"> of {name}</span></a>'
        if row.has_notes
        else '<span class="muted">none</span>'
    )
    return (  # every value escaped above
        f'<tr class="tone-row-{tone(row.status)}">'
        f'<td class="status-cell">{status_badge(row.status)}{_locations_cell(row.locations)}</td>'
        f'<th scope="row"><a id="svc-{slug}" href="/services/{slug}/">{name}</a> '
        f"{_tier_html(row.tier)}{rollback}</th>"
        f'<td class="latency">{_latency_cell(row.latency)}</td>'
        f'<td class="jobs">{_jobs_cell(row.jobs)}</td>'
        f'<td class="deploy">{_deployment_cell(row.last_deployment, ctx)}</td>'
        f'<td class="owner"><a id="team-{slug}" {ctx.team_cell(row.team_slug, row.team_name)}</td>'
        f'<td class="notes-link">{notes}</td></tr>'
    )


@register.filter
def duration(seconds: int | None) -> str:
    """60 -> '1 min', 3600 -> '1 h', 45 -> '45 s'."""
    if not seconds:
        return "—"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
