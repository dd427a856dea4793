"""Team pages (login required): the team status page, its refreshing rows, the service page
and the account settings. Views parse, call a selector, render."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods

from checks.selectors import WINDOWS
from checks.status import ServiceStatus
from statuspage.alerts.acks import open_alerts
from statuspage.catalog.models import Service
from statuspage.catalog.permissions import can_edit_owner_note, can_see_team_checks
from statuspage.core.days import day_zone
from statuspage.web import charts
from statuspage.web.forms import AccountForm, TeamFilterForm
from statuspage.web.notices import open_notices
from statuspage.web.selectors_common import verdict_due_at
from statuspage.web.service_selectors import DAY_CELLS, DeploymentView, ServicePage, service_page
from statuspage.web.team_list import team_list_context
from statuspage.web.team_selectors import team_options, team_page
from statuspage.web.templatetags.pages import RowContext

REFRESH_S = 15
OUTAGE_STATUSES = (ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE)
DEFAULT_RANGE = "7d"
RANGE_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "90d": "90 days",
                "365d": "365 days"}  # fmt: skip


def _team_context(request: HttpRequest) -> dict:
    teams = team_options()
    form = TeamFilterForm(request.GET, teams=teams)
    filters = form.filters()
    page = team_page(filters=filters, now=timezone.now(), teams=teams, page=request.GET.get("page"))
    # The filters that are set, to carry into the refresh URL and the status links.
    query = {name: value for name, value in vars(filters).items() if value}
    paused = request.GET.get("refresh") == "off"
    if page.paging.number > 1:
        query["page"] = page.paging.number
    return {
        "page": page,
        "notices": open_notices(),
        "form": form,
        "filters": filters,
        "query": query,
        "row_context": RowContext(
            team_links={t.slug: f"?{urlencode({**query, 'team': t.slug})}" for t in teams},
            zone=timezone.get_current_timezone(),
            now=page.generated_at,
        ),
        "refresh_s": None if paused else REFRESH_S,
    }


@require_GET
@login_required
def team(request: HttpRequest) -> HttpResponse:
    context = team_list_context(request, _team_context(request))
    # Read only when the page shows an outage: a healthy page costs no query more.
    outage = any(c.count for c in context["page"].counts if c.status in OUTAGE_STATUSES)
    if outage:
        context["open_alerts"] = open_alerts(user=request.user, team_slug=context["filters"].team)
    return render(request, "web/team.html", context)


@require_GET
def team_rows(request: HttpRequest) -> HttpResponse:
    """The refreshing part of the team page (summary and table), polled by htmx."""
    if not request.user.is_authenticated:
        if request.headers.get("HX-Request"):
            # A swapped-in sign-in form would land inside the table: send the page there.
            return HttpResponse(headers={"HX-Redirect": f"{settings.LOGIN_URL}?next=/"})
        return redirect_to_login(request.get_full_path())
    context = team_list_context(request, _team_context(request))
    if request.GET.get("fp") == context["fingerprint"]:
        # Nothing the viewer would see has changed: htmx leaves the page as it is.
        return HttpResponse(status=204)
    return render(request, "web/_service_rows.html", context)


@require_GET
@login_required
def service(request: HttpRequest, slug: str) -> HttpResponse:
    range_ = request.GET.get("range", DEFAULT_RANGE)
    if range_ not in WINDOWS:
        range_ = DEFAULT_RANGE
    page = service_page(slug=slug, range_=range_, now=timezone.now())
    if page is None:
        raise Http404("No such service")
    # An unsaved stand-in: the permission rule reads only the service's team.
    stand_in = Service(pk=page.id, team_id=page.team_id)
    context = {
        "page": page,
        "notices": open_notices(service_id=page.id),
        "ranges": RANGE_LABELS,
        "range_label": RANGE_LABELS[range_],
        **_charts(page),
        "can_edit_notes": can_edit_owner_note(request.user, stand_in),
        "show_ping_urls": can_see_team_checks(request.user, page.team_id),
        "open_alerts": open_alerts(user=request.user, service_id=page.id),
        "open_alerts_single": True,
        "history_url": (
            reverse("admin:catalog_ownernote_history", args=[page.note.id])
            if page.note and request.user.is_staff
            else ""
        ),
    }
    return render(request, "web/service.html", context)


def _charts(page: ServicePage) -> dict[str, SafeString]:
    """The service page's three SVG charts, drawn from its rollups and deployments."""
    history = page.history
    label = RANGE_LABELS[history.range]
    hourly = history.bucket.days == 0
    markers = [
        charts.Marker(
            at=d.deployed_at,
            title=d.version,
            label=_marker_label(d),
            href=f"#deployment-{d.id}",
            verdict=d.verdict,
        )
        for d in page.markers
    ]
    figures = next(w for w in history.windows if w.window == history.range)
    return {
        "latency_svg": charts.latency_chart(
            history.series,
            frame=charts.Frame(start=history.range_start, end=history.range_end),
            bucket=history.bucket,
            markers=markers,
            threshold_ms=page.threshold_ms,
            title=f"Latency p50 and p95, last {label}",
        ),
        "uptime_svg": charts.uptime_chart(
            history.series,
            frame=charts.Frame(start=history.range_start, end=history.range_end, height=120),
            bucket=history.bucket,
            title=f"Uptime per {'hour' if hourly else 'day'}, last {label}",
            summary=f"{charts.format_pct(figures.uptime_pct)} up overall",
            label_format="%Y-%m-%d %H:00" if hourly else "%Y-%m-%d",
        ),
        "day_bar_svg": charts.day_bar(
            history.days, title=f"Uptime per day, last {DAY_CELLS} days ({_day_zone_name()})"
        ),
    }


def _day_zone_name() -> str:
    """The zone whose calendar days the day bar shows (statuspage.core.days)."""
    key = day_zone().key
    return "UTC" if key in ("UTC", "Etc/UTC") else key


def _marker_label(d: DeploymentView) -> str:
    when = timezone.localtime(d.deployed_at).strftime("%Y-%m-%d %H:%M %Z")
    text = f"Deployment {d.version} at {when}"
    if d.verdict == "pending":
        due = timezone.localtime(verdict_due_at(d.deployed_at)).strftime("%H:%M")
        return f"{text}: verdict pending, due at {due}"
    return (
        f"{text}: p50 {charts.format_ms(d.before_p50_ms)} to {charts.format_ms(d.after_p50_ms)}, "
        f"p95 {charts.format_ms(d.before_p95_ms)} to {charts.format_ms(d.after_p95_ms)}; "
        f"{d.verdict.replace('_', ' ')}"
    )


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Times are now shown in {form.cleaned_data['time_zone']}.")
        return redirect("account")
    return render(request, "web/account.html", {"form": form})
