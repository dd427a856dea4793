"""The service page: checks, charts from rollups with deployment markers, the 90-day bar,
status changes, deployments and the owner notes (at the top when something is wrong)."""

import re
import zoneinfo
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checks.models import Check, Kind, Rollup, State, Transition, Verdict
from statuspage.catalog.models import OwnerNote
from statuspage.core.days import day_of, day_start
from statuspage.web import charts
from tests.checks.factories import make_check
from tests.factories import make_user
from tests.web.team_worlds import NOW, deploy, rollup, set_state

pytestmark = pytest.mark.django_db
PAGE = "/services/checkout-api/"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def history(service):
    """An HTTP check with 7 days of hours and 90 days of days; one bad day, 10 days ago."""
    check = make_check(service, degraded_ms=300)
    set_state(check, State.UP, latency_ms=95.0, detail="200 OK")
    hour, day = NOW.replace(minute=0), NOW.replace(hour=0, minute=0)
    rows = [rollup(check, hour - timedelta(hours=h), latency_ms=90.0) for h in range(7 * 24)]
    rows += [
        rollup(check, day - timedelta(days=d), period="day", up=1440, latency_ms=90.0)
        for d in range(90)
        if d != 10
    ]
    rows.append(
        rollup(check, day - timedelta(days=10), period="day", up=1368, down=72, latency_ms=400.0)
    )
    Rollup.objects.bulk_create(rows)
    return check


def test_signed_out_visitor_is_sent_to_sign_in(client, service):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"


def test_unknown_service_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get("/services/no-such-service/").status_code == 404


def test_checks_table_shows_state_last_result_latency_and_error(client, viewer, service):
    api = make_check(service, "api", degraded_ms=250)
    set_state(api, State.DOWN, detail="connect: connection refused")
    job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)
    Check.objects.filter(pk=job.pk).update(state=State.UP, last_ping_at=NOW - timedelta(hours=3))
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()
    checks = html[html.index('<table class="checks">') : html.index("</table>")]

    assert "Down" in checks
    assert "connect: connection refused" in checks
    assert "limit 250 ms" in checks
    assert "30\xa0seconds" not in checks  # under a minute reads "just now"
    assert "just now" in checks
    assert "Late since" in checks  # the hourly job missed its run (grace 5 min)
    # The viewer is not in the owning team: a ping URL would let them fake a success.
    assert str(job.ping_uuid) not in html


def test_ping_urls_are_shown_to_the_owning_team_and_admins_only(
    client, viewer, editor, admin_user, other_team, service
):
    job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)
    outsider = make_user("olga", role="Editors")
    other_team.members.add(outsider)
    service.team.members.add(viewer)
    for user, shown in [(viewer, True), (editor, True), (admin_user, True), (outsider, False)]:
        client.force_login(user)
        html = client.get(PAGE).content.decode()
        assert (f"http://testserver/ping/{job.ping_uuid}" in html) is shown, user.username


def test_latency_chart_is_drawn_from_rollups(client, viewer, history):
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()

    chart = re.search(r'<svg class="chart" .*?</svg>', html, re.S).group(0)
    assert "Latency p50 and p95, last 7 days" in chart
    p50 = re.search(r'<path class="line-p50" d="([^"]+)"', chart).group(1)
    assert p50.startswith("M") and p50.count("L") == 7 * 24 - 1  # one point per hour
    assert "limit 300 ms" in chart
    # Figures per window: 90 ms falls in the 75-100 ms bucket.
    windows = html[
        html.index('<table class="windows">') : html.index(
            "</table>", html.index('<table class="windows">')
        )
    ]
    assert "<td>88 ms</td>" in windows  # p50: 75 + 25 * 0.5 = 87.5, shown rounded
    # 72 failures on one day: 1 - 72 / (30 * 1440) and 1 - 72 / (90 * 1440).
    assert re.findall(r'<td class="u-text-(\w+)">([^<]+)</td>', windows) == [
        ("good", "100%"), ("good", "100%"), ("fair", "99.83%"), ("good", "99.94%"),
        ("good", "99.94%"),
    ]  # fmt: skip


def test_range_links_switch_between_hours_and_days(client, viewer, history):
    client.force_login(viewer)

    day_range = client.get(f"{PAGE}?range=90d").content.decode()
    unknown = client.get(f"{PAGE}?range=forever").content.decode()

    assert "Latency p50 and p95, last 90 days" in day_range
    p50 = re.search(r'<path class="line-p50" d="([^"]+)"', day_range).group(1)
    assert p50.count("L") == 89  # one point per day
    assert 'href="?range=90d" aria-current="page"' in day_range
    assert "Latency p50 and p95, last 7 days" in unknown


def test_ninety_day_bar_has_a_named_cell_per_day(client, viewer, history):
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()
    bar = re.search(r'<svg class="day-bar".*?</svg>', html, re.S).group(0)

    cells = re.findall(r'<rect class="u-(\w+)"[^>]*aria-label="([^"]+)"', bar)
    assert len(cells) == 90
    assert cells[-1] == ("good", "2026-11-26: 100% up")
    assert cells[0][1] == "2026-08-29: 100% up"
    assert ("poor", "2026-11-16: 95% up") in cells


def test_ninety_day_bar_keeps_the_days_of_the_page_time_zone(client, viewer, service, settings):
    # 12:30 UTC is already 01:30 the next day in Auckland (UTC+13 in November): daily
    # rollups begin at Auckland's midnight, and the bar's days are Auckland's days.
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "Pacific/Auckland"}
    check = make_check(service, degraded_ms=300)
    set_state(check, State.UP, latency_ms=95.0)
    today = day_of(NOW)
    Rollup.objects.bulk_create(
        rollup(check, day_start(today - timedelta(days=d)), period="day", up=1440)
        if d != 10
        else rollup(check, day_start(today - timedelta(days=d)), period="day", up=1368, down=72)
        for d in range(90)
    )
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()
    bar = re.search(r'<svg class="day-bar".*?</svg>', html, re.S).group(0)

    cells = re.findall(r'<rect class="u-(\w+)"[^>]*aria-label="([^"]+)"', bar)
    assert 'aria-label="Uptime per day, last 90 days (Pacific/Auckland)"' in bar
    assert today.isoformat() == "2026-11-27"
    assert len(cells) == 90
    assert cells[-1] == ("good", "2026-11-27: 100% up")
    assert cells[0][1] == "2026-08-30: 100% up"
    assert ("poor", "2026-11-17: 95% up") in cells
    assert sum(kind == "good" for kind, _label in cells) == 89


def test_deployment_is_marked_on_the_chart_with_its_numbers(client, viewer, history, service):
    deployment = deploy(
        service,
        "2026.11.24-1",
        at=NOW - timedelta(days=2),
        verdict=Verdict.REGRESSED,
        before_p50_ms=88.0,
        after_p50_ms=130.0,
        before_p95_ms=140.0,
        after_p95_ms=420.0,
    )
    deploy(service, "2026.10.01-1", at=NOW - timedelta(days=56), verdict=Verdict.IMPROVED)
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()
    chart = re.search(r'<svg class="chart" .*?</svg>', html, re.S).group(0)

    markers = re.findall(
        r'<a class="marker verdict-(\w+)" href="([^"]+)" aria-label="([^"]+)"', chart
    )
    assert markers == [
        (
            "regressed",
            f"#deployment-{deployment.pk}",
            "Deployment 2026.11.24-1 at 2026-11-24 12:30 UTC: p50 88 ms to 130 ms, "
            "p95 140 ms to 420 ms; regressed",
        )
    ]
    assert f'<tr id="deployment-{deployment.pk}">' in html  # the marker's target
    assert "88 ms → 130 ms" in html
    assert "2026.10.01-1" in html  # older deployments are listed, not marked


def test_owner_notes_come_first_when_the_service_is_down(client, viewer, service):
    set_state(make_check(service), State.DOWN, detail="timeout")
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()

    assert html.index('id="notes"') < html.index('id="checks-heading"')
    assert "Redeploy the previous tag" in html
    assert 'href="/incidents/new/?service=checkout-api"' in html


def test_owner_notes_come_last_when_the_service_is_operational(client, viewer, service):
    set_state(make_check(service), State.UP)
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()

    assert html.index('id="notes"') > html.index('id="deployments-heading"')
    assert "Open an incident" not in html


def test_runbook_is_rendered_sanitized_and_links_listed(client, viewer, service):
    OwnerNote.objects.filter(service=service).update(
        runbook="## Steps\n\n1. Look at **errors**\n\n<script>alert(1)</script>",
        links="Dashboard https://grafana.example.com/d/checkout",
    )
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()

    assert "<strong>errors</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert (
        '<a href="https://grafana.example.com/d/checkout" rel="noopener noreferrer">Dashboard</a>'
        in html
    )


def test_editors_get_an_edit_link_and_staff_the_history_link(client, viewer, editor, service):
    note_id = OwnerNote.objects.get(service=service).pk
    client.force_login(viewer)
    as_viewer = client.get(PAGE).content.decode()
    client.force_login(editor)
    as_editor = client.get(PAGE).content.decode()

    assert "Edit owner notes" not in as_viewer
    assert "/history/" not in as_viewer
    assert f'href="/admin/catalog/service/{service.pk}/notes/">Edit owner notes' in as_editor
    assert f'href="/admin/catalog/ownernote/{note_id}/history/"' in as_editor


def test_recent_status_changes_newest_first(client, viewer, service):
    check = make_check(service)
    Transition.objects.bulk_create(
        Transition(
            check_ref=check,
            from_state=State.UP if n % 2 else State.DOWN,
            to_state=State.DOWN if n % 2 else State.UP,
            at=NOW - timedelta(minutes=10 * n),
            reason=f"change {n}",
        )
        for n in range(1, 26)
    )
    client.force_login(viewer)

    html = client.get(PAGE).content.decode()
    table = html[html.index('<table class="transitions">') :]
    table = table[: table.index("</table>")]

    reasons = re.findall(r"<td>(change \d+)</td>", table)
    assert reasons == [f"change {n}" for n in range(1, 21)]


def test_times_are_shown_in_the_viewers_time_zone(client, service):
    make_check(service)
    Check.objects.filter(service=service).update(last_checked_at=NOW - timedelta(hours=2))
    deploy(service, "2026.11.26-1", at=NOW - timedelta(hours=1))
    user = make_user("kenji")
    user.time_zone = "Asia/Tokyo"
    user.save()
    client.force_login(user)

    html = client.get(PAGE).content.decode()

    assert '<time datetime="2026-11-26T19:30:00+09:00" title="2026-11-26 19:30:00 JST">' in html
    assert '<time datetime="2026-11-26T20:30:00+09:00"' in html
    assert "+00:00" not in html


def test_query_count_does_not_grow_with_checks_or_deployments(client, viewer, service):
    make_check(service, "first")
    deploy(service, "1", at=NOW - timedelta(days=1), verdict=Verdict.UNCHANGED)
    client.force_login(viewer)
    client.get(PAGE)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for n in range(15):
        set_state(make_check(service, f"check {n}"), State.DOWN, detail="refused")
        deploy(service, f"2.{n}", at=NOW - timedelta(hours=n + 1), verdict=Verdict.REGRESSED)
    with CaptureQueriesContext(connection) as many:
        client.get(PAGE)

    assert len(few) == len(many), [q["sql"][:100] for q in many]
    # Session, user, page reads, notices, open alerts, the viewer's permissions and team
    # membership.
    assert len(many) <= 16


# ----------------------------------------------------------------------------- charts


def test_chart_text_is_escaped_and_markers_are_links():
    frame = charts.Frame(start=NOW - timedelta(days=1), end=NOW)
    marker = charts.Marker(
        at=NOW - timedelta(hours=3),
        title="v<1>",
        label='Deployment "v<1>" & more',
        href="#deployment-1",
        verdict="regressed",
    )

    svg = charts.latency_chart(
        [charts.SeriesPoint(NOW - timedelta(hours=2), 10.0, 20.0, 100.0)],
        frame=frame,
        bucket=timedelta(hours=1),
        markers=[marker],
        title="<b>title</b>",
    )

    assert "<b>" not in svg
    assert "&lt;b&gt;title&lt;/b&gt;" in svg
    assert 'aria-label="Deployment &quot;v&lt;1&gt;&quot; &amp; more"' in svg


def test_sparkline_breaks_its_line_at_hours_without_data():
    points = [10.0, 12.0, None, 14.0, 16.0, None, None, 30.0]

    svg = charts.sparkline(points, label="latency")

    path = re.search(r'class="spark-line" d="([^"]+)"', svg).group(1)
    assert [segment.count("L") for segment in path.split("M")[1:]] == [1, 1, 0]
    assert 'aria-label="latency: 10 ms to 30 ms, latest 30 ms"' in svg
    assert charts.sparkline([None, None], label="latency") == ""


def test_uptime_is_never_rounded_up_to_a_full_100():
    assert charts.format_pct(99.999) == "99.99%"
    assert charts.format_pct(100.0) == "100%"
    assert charts.format_pct(99.5) == "99.50%"
    assert charts.format_pct(None) == "—"


def test_axis_tops_are_round_numbers():
    assert charts.nice_ceiling(93) == (100, 25)
    assert charts.nice_ceiling(430) == (600, 200)
    assert charts.nice_ceiling(1.2) == (1.5, 0.5)
    assert charts.nice_ceiling(0) == (1.0, 0.25)


def test_time_axis_is_labelled_in_the_viewers_zone():
    frame = charts.Frame(
        start=NOW - timedelta(hours=23, minutes=30), end=NOW + timedelta(minutes=30)
    )
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        svg = charts.latency_chart([], frame=frame, bucket=timedelta(hours=1), title="t")

    labels = re.findall(r'<text class="tick-label"[^>]*text-anchor="middle">([^<]+)<', svg)
    # 12:30 UTC is 21:30 in Tokyo: ticks every four hours on the Tokyo clock.
    assert labels == ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]
