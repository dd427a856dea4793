"""The public status, history, incident and maintenance pages (no login, served from cache).

Views parse the request and hand ``public_cache.serve`` a render function; the render
functions read ``statuspage.web.public`` and fill templates under templates/public/.
Pages are rendered without the request (no CSRF token, no CSP nonce, no user), in the
page's own time zone, so one cached copy is right for every visitor. Tooltips of the uptime
cells are CSS; the one script, ``static/js/public.js`` (external, so no nonce is needed),
fetches a component group's bars when the group is first opened.
"""

from datetime import date
from html import escape  # the standard library's: plain str, no lazy-string checks
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from checks.status import ComponentStatus
from statuspage.incidents.rules import IMPACT_SEVERITY
from statuspage.web import public
from statuspage.web.public_cache import SNAPSHOT_PAGE, past_day_cells, serve
from statuspage.web.public_days import UPTIME_DAYS, DayCell
from statuspage.web.uptime import format_pct, uptime_rank

# The days of the uptime bar a phone shows (static/css/public.css hides the others).
PHONE_DAYS = 30

HTML = "text/html; charset=utf-8"
COMPONENTS_MARKER = b"<!--components-->"
MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _logo_csp(decorated):
    """A logo on another origin (a CDN) is allowed in img-src of these pages only."""
    logo = settings.STATUS_PAGE.get("logo_url", "")
    parts = urlsplit(logo)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return decorated
    policy = dict(settings.SECURE_CSP)
    policy["img-src"] = [*policy.get("img-src", []), f"{parts.scheme}://{parts.netloc}"]
    return csp_override(policy)(decorated)


# ----------------------------------------------------------------- the uptime bars


def uptime_text(value: float | None) -> str:
    """Uptime on the public page and badges: two decimals kept, "No data" without data."""
    return format_pct(value, missing="No data", trim=False)


def _cell_level(cell: DayCell) -> str:
    level = uptime_rank(cell.uptime)
    if level is None:
        level = 0 if cell.incidents else -1
    if cell.incidents:
        level = max(level, IMPACT_SEVERITY[cell.impact or "none"])
    if level < 0:
        return "mt" if cell.maintenance else "nd"
    return f"l{level}"


class Memo(dict):
    """HTML of cells (keyed by DayCell) or of bars (keyed by a tuple of them), kept by this
    process across renders. Cells compare by identity (see DayCell); a key holds its
    cells, so no identity is reused while its entry is here. ``trim`` empties the memo
    once it outgrows its limit: entries of cells no longer read go then."""

    def trim(self, limit: int) -> None:
        if len(self) > limit:
            self.clear()


class CellMemo(Memo):
    def __missing__(self, cell: DayCell) -> str:
        text = f"{cell.day.day} {MONTHS[cell.day.month]}<br>{uptime_text(cell.uptime)}"
        if cell.uptime is not None:
            text += " uptime"
        if cell.maintenance:
            text += "<br>Maintenance window"
        for title in cell.incidents:
            text += f"<br>Incident: {escape(title)}"
        html = self[cell] = f"<li class={_cell_level(cell)} tabindex=0><i>{text}</i></li>"
        return html


# Alike cells are one object, so a page has far fewer distinct cells to build. The
# past days of a bar are the same objects from render to render while past_day_cells
# keeps them (days with incidents are new objects each time): their HTML is joined once.
_cells = CellMemo()
_bars = Memo()


def uptime_bar(days: tuple[DayCell, ...]) -> str:
    """The cells of one bar as HTML, built here rather than in a template loop.

    Each cell is focusable and carries its text (date on the first line, uptime,
    maintenance, incidents), which CSS shows as a tooltip on hover and on focus. Titles
    are escaped; the rest is ours. Attribute values go unquoted: every byte of a cell
    counts once per cell of the page.
    """
    if not days:
        return ""
    past = days[:-1]
    html = _bars.get(past)
    if html is None:
        html = _bars[past] = "".join(map(_cells.__getitem__, past))
    return html + _cells[days[-1]]


def _pill(status: str, label: str) -> str:
    return (
        f'<span class="pill pill--{status}"><span class="icon" aria-hidden="true"></span>'
        f"{escape(label)}</span>"
    )


def _uptime_of(cells) -> float | None:
    available = sum(cell.available for cell in cells)
    counted = sum(cell.counted for cell in cells)
    return 100.0 * available / counted if counted else None


def _total(uptime: float | None, days: int) -> str:
    text = uptime_text(uptime)
    return f"{text} uptime over {days} days" if uptime is not None else f"{text} ({days} days)"


def _component_html(
    parts: list[str], component: public.Component, level: int, *, with_bar: bool = True
):
    """One component: name, status pill, description and, ``with_bar``, its uptime bar.

    A phone shows the last PHONE_DAYS cells of the bar (CSS), so the scale below it and
    the uptime figure name and count those days there, and all of them elsewhere.
    """
    name = escape(component.name)
    parts += [
        f'<li class="component"><div class="component-head"><h{level} class="component-name">',
        name,
        f"</h{level}>",
        _pill(component.status, component.status_label),
        "</div>",
    ]
    if component.description:
        parts += ['<p class="component-desc">', escape(component.description), "</p>"]
    if not with_bar:
        parts.append("</li>")
        return
    short = _uptime_of(component.days[-PHONE_DAYS:])
    parts += [
        f'<ol class="bar" aria-label="{name}: uptime per day">',
        uptime_bar(component.days),
        '</ol><p class="bar-scale"><span class="bar-start" aria-hidden="true">'
        f'<span class="days-all">{UPTIME_DAYS} days ago</span>'
        f'<span class="days-phone">{PHONE_DAYS} days ago</span></span>'
        f'<span class="bar-total"><span class="days-all">{_total(component.uptime, UPTIME_DAYS)}'
        f'</span><span class="days-phone">{_total(short, PHONE_DAYS)}</span></span>'
        '<span class="bar-end" aria-hidden="true">Today</span></p></li>',
    ]


def _group_html(parts: list[str], group: public.Group) -> None:
    """A group as a disclosure, collapsed: its name, status, size and how many of its
    services are not operational always; its services' names and statuses inside; their
    uptime bars fetched when it is first opened (``static/js/public.js`` from the
    data-bars URL), which keeps a page of a thousand services small and quick to load."""
    count = len(group.components)
    affected = sum(c.status != ComponentStatus.OPERATIONAL for c in group.components)
    size = f"{count} service{'s' if count != 1 else ''}"
    if affected:
        size += f", {affected} not operational"
    bars = reverse("public-group-bars", args=[group.id])
    parts += [
        f'<li class="group"><details class="group-details" data-bars="{bars}">'
        '<summary class="group-head"><h3 class="group-name">',
        escape(group.name),
        "</h3>",
        _pill(group.status, group.status_label),
        f'<span class="group-size">{size}</span></summary><ul class="component-list">',
    ]
    for component in group.components:
        _component_html(parts, component, 4, with_bar=False)
    parts.append("</ul></details></li>")


def _trim_memos(summary: public.PublicSummary) -> None:
    _bars.trim(2 * len(summary.components) + 64)
    _cells.trim(20_000)


def components_html(summary: public.PublicSummary) -> SafeString:
    """The component list of the status page: groups (h3, collapsed) holding their
    components (h4), and ungrouped components (h3) with their uptime bars.

    Python rather than a template include per component: with 200 components the includes
    cost more than everything else in the render. Every text from the database passes
    through ``escape``.
    """
    _trim_memos(summary)
    parts: list[str] = []
    for entry in summary.layout:
        if isinstance(entry, public.Component):
            _component_html(parts, entry, 3)
        else:
            _group_html(parts, entry)
    return mark_safe("".join(parts))  # noqa: S308  (database texts escaped above)


def group_bars_html(summary: public.PublicSummary, group_id: str) -> bytes | None:
    """The components of one group with their uptime bars (what its disclosure shows once
    opened), or None if no group has that id."""
    group = next((g for g in summary.groups if g.id == group_id), None)
    if group is None:
        return None
    _trim_memos(summary)
    parts: list[str] = ['<ul class="component-list">']
    for component in group.components:
        _component_html(parts, component, 4)
    parts.append("</ul>")
    return "".join(parts).encode()


# --------------------------------------------------------------------------- pages


def _render(template: str, context: dict) -> bytes:
    base = {
        "page": context.get("page") or public.page_info(timezone.now()),
        "time_zone": public.zone_label(public.page_zone()),
    }
    with timezone.override(public.page_zone()):
        return render_to_string(template, {**base, **context}).encode()


def render_status_page() -> bytes:
    """The status page. The component list (most of its bytes) joins the
    rendered template once, as bytes, instead of being copied through every template
    block."""
    summary = public.public_summary(read_cells=past_day_cells)
    history = [  # one heading a day: cheaper formatted here than by the date filter
        (day.day.isoformat(), f"{day.day.day} {MONTHS[day.day.month]} {day.day.year}", day)
        for day in summary.history
    ]
    context = {"summary": summary, "page": summary.page, "history": history}
    html = _render("public/status.html", context)
    head, marker, tail = html.partition(COMPONENTS_MARKER)
    if not marker:
        return html
    return b"".join((head, components_html(summary).encode(), tail))


@require_safe
@_logo_csp
def status_page(request: HttpRequest) -> HttpResponse:
    return serve(request, "page", render_status_page, content_type=HTML, snapshot=SNAPSHOT_PAGE)


@require_safe
@_logo_csp
def history(request: HttpRequest, year: int | None = None, month: int | None = None):
    def render() -> bytes:
        now = timezone.now()
        if year is None:
            local = timezone.localtime(now, public.page_zone())
            found = public.public_month(year=local.year, month=local.month, now=now)
        else:
            found = public.public_month(year=year, month=month, now=now)
        if found is None:
            raise Http404("No such month")
        return _render(
            "public/history.html", {"month": found, "first": date(found.year, found.month, 1)}
        )

    name = "history" if year is None else f"history:{year}-{month}"
    return serve(request, name, render, content_type=HTML)


@require_safe
@_logo_csp
def incident_page(request: HttpRequest, pk: int) -> HttpResponse:
    def render() -> bytes:
        incident = public.public_incident(pk)
        if incident is None:
            raise Http404("No such incident")
        return _render("public/incident.html", {"incident": incident})

    return serve(request, f"incident:{pk}", render, content_type=HTML)


@require_safe
@_logo_csp
def maintenance_page(request: HttpRequest, pk: int) -> HttpResponse:
    def render() -> bytes:
        maintenance = public.public_maintenance(pk)
        if maintenance is None:
            raise Http404("No such maintenance")
        return _render("public/maintenance.html", {"maintenance": maintenance})

    return serve(request, f"maintenance:{pk}", render, content_type=HTML)


@require_safe
def group_bars(request: HttpRequest, group_id: str) -> HttpResponse:
    """The uptime bars of one component group, as an HTML fragment for the status page.
    Kept as a snapshot too, so a group opened while the database is down still shows the
    bars it had."""

    def render() -> bytes:
        found = group_bars_html(public.public_summary(read_cells=past_day_cells), group_id)
        if found is None:
            raise Http404("No such group")
        return found

    name = f"group:{group_id}"
    return serve(request, name, render, content_type=HTML, snapshot=f"group-{group_id}")
