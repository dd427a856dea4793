"""The team status page: one row per service, worst first, filters in the URL, a refreshing
region, and a query count that does not grow with the number of services."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checks.models import Check, Kind, Rollup, State, Verdict
from statuspage.catalog.models import Tier
from statuspage.incidents.models import Maintenance, MaintenanceStatus
from statuspage.web.paging import PAGE_SIZE
from tests.checks.factories import make_check
from tests.factories import make_service
from tests.web.team_worlds import (
    NOW,
    bulk_catalog,
    deploy,
    rollup,
    row_of,
    rows_in_order,
    set_state,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# ------------------------------------------------------------------------- tests


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_rows_are_worst_first_then_by_tier_then_by_name(client, viewer, team):
    fine_critical = make_service("fine-critical", team=team, tier=Tier.CRITICAL)
    down_low = make_service("down-low", team=team, tier=Tier.LOW)
    down_high = make_service("down-high", team=team, tier=Tier.HIGH)
    slow = make_service("slow", team=team, tier=Tier.NORMAL)
    make_service("no-checks", team=team, tier=Tier.CRITICAL)
    paused = make_service("paused", team=team, tier=Tier.CRITICAL, is_paused=True)
    for service, state in [
        (fine_critical, State.UP),
        (down_low, State.DOWN),
        (down_high, State.DOWN),
        (slow, State.DEGRADED),
        (paused, State.UP),
    ]:
        set_state(make_check(service), state)
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert rows_in_order(html) == [
        "down-high", "down-low", "slow", "no-checks", "fine-critical", "paused",
    ]  # fmt: skip


def test_status_is_a_word_with_an_icon_not_colour_alone(client, viewer, service):
    set_state(make_check(service), State.DOWN)
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "Major outage" in row
    assert re.search(r'<svg class="icon"[^>]*aria-hidden="true"', row)


def test_latency_shows_now_against_threshold_and_own_baseline(client, viewer, service):
    check = make_check(service, degraded_ms=300)
    set_state(check, State.DEGRADED, latency_ms=420.0)
    hour, day = NOW.replace(minute=0), NOW.replace(hour=0, minute=0)
    Rollup.objects.bulk_create(
        [rollup(check, hour - timedelta(hours=h), latency_ms=110.0) for h in range(0, 12, 3)]
        + [rollup(check, day - timedelta(days=d), period="day", latency_ms=120.0) for d in range(7)]
        + [rollup(check, day - timedelta(days=7), period="day", latency_ms=900.0)]  # too old
    )
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "420 ms" in row
    assert "over limit" in row
    assert "limit 300 ms" in row
    # Every result of the last 7 days sits in the 100-150 ms bucket: its middle is the p50.
    assert "7-day p50 125 ms" in row
    assert "(now +236%)" in row
    assert '<svg class="spark"' in row
    assert "Mean latency per hour, last 24 hours: 110 ms to 110 ms, latest 110 ms" in row


def test_sparkline_has_a_point_per_hour_with_data(viewer, service):
    from statuspage.web.team_selectors import TeamPageFilters, team_page

    check = make_check(service)
    set_state(check, State.UP, latency_ms=80.0)
    hour = NOW.replace(minute=0)
    Rollup.objects.bulk_create(
        [
            rollup(check, hour, latency_ms=60.0),
            rollup(check, hour - timedelta(hours=5), latency_ms=200.0),
            rollup(check, hour - timedelta(hours=24), latency_ms=900.0),  # outside the 24 h
        ]
    )

    (row,) = team_page(filters=TeamPageFilters(), now=NOW).rows

    points = row.latency.points
    assert len(points) == 24
    assert points[-1] == pytest.approx(60.0)
    assert points[-6] == pytest.approx(200.0)
    assert sum(p is not None for p in points) == 2


def test_jobs_column_counts_failing_and_late_heartbeats(client, viewer, service):
    failing = make_check(service, "import", kind=Kind.HEARTBEAT, config={}, interval_s=300)
    Check.objects.filter(pk=failing.pk).update(state=State.DOWN, last_ping_at=NOW)
    late = make_check(service, "export", kind=Kind.HEARTBEAT, config={}, interval_s=300, grace_s=60)
    Check.objects.filter(pk=late.pk).update(state=State.UP, last_ping_at=NOW - timedelta(hours=1))
    fine = make_check(service, "cleanup", kind=Kind.HEARTBEAT, config={}, interval_s=3600)
    Check.objects.filter(pk=fine.pk).update(state=State.UP, last_ping_at=NOW)
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "1 failing" in row
    assert "1 late" in row
    assert "of 3" in row


def test_jobs_on_time_and_services_without_jobs(client, viewer, service, other_service):
    beat = make_check(service, "import", kind=Kind.HEARTBEAT, config={}, interval_s=300)
    Check.objects.filter(pk=beat.pk).update(state=State.UP, last_ping_at=NOW)
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert "1 on time" in row_of(html, "checkout-api")
    assert '<td class="jobs"><span class="muted">none</span>' in row_of(html, "search-api")


def test_last_deployment_shows_version_time_and_verdict(client, viewer, service):
    deploy(service, "2026.11.20-1", at=NOW - timedelta(days=6), verdict=Verdict.IMPROVED)
    deploy(
        service,
        "2026.11.26-1",
        at=NOW - timedelta(hours=2),
        verdict=Verdict.REGRESSED,
        before_p95_ms=180.0,
        after_p95_ms=410.0,
    )
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "2026.11.26-1" in row
    assert "2026.11.20-1" not in row
    assert "Regressed" in row
    assert "p95 180 ms → 410 ms" in row
    assert re.search(r'<time datetime="2026-11-26T10:30:00\+00:00" title="[^"]+">2', row)


def test_a_deployment_without_a_verdict_yet_is_pending(client, viewer, service):
    deploy(service, "2026.11.26-2", at=NOW - timedelta(minutes=5))
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "Pending" in row
    assert "5\xa0minutes ago" in row


def test_owner_team_links_to_its_filter_and_notes_link_to_the_service(client, viewer, service):
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert '<a id="team-checkout-api" href="?team=payments">Payments</a>' in row
    assert '<a id="notes-checkout-api" href="/services/checkout-api/#notes">Notes' in row


def test_rollback_note_is_shown_beside_a_service_in_trouble(client, viewer, service, other_service):
    set_state(make_check(service), State.DOWN)
    set_state(make_check(other_service), State.UP)
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert "Rollback: Redeploy the previous tag" in row_of(html, "checkout-api")
    assert "Rollback:" not in row_of(html, "search-api")


def test_service_in_maintenance_shows_maintenance(client, viewer, service):
    set_state(make_check(service), State.DOWN)
    window = Maintenance.objects.create(
        title="DB upgrade",
        status=MaintenanceStatus.IN_PROGRESS,
        scheduled_for=NOW - timedelta(hours=1),
        scheduled_until=NOW + timedelta(hours=1),
    )
    window.services.add(service)
    client.force_login(viewer)

    assert "Maintenance" in row_of(client.get("/").content.decode(), "checkout-api")


def test_filters_by_team_status_tier_and_search(client, viewer, team, other_team):
    for slug, owner, tier, state in [
        ("checkout-api", team, Tier.CRITICAL, State.DOWN),
        ("refunds", team, Tier.LOW, State.UP),
        ("search-api", other_team, Tier.CRITICAL, State.UP),
        ("search-indexer", other_team, Tier.LOW, State.DOWN),
    ]:
        set_state(make_check(make_service(slug, team=owner, tier=tier)), state)
    client.force_login(viewer)

    def listed(query: str) -> list[str]:
        return sorted(rows_in_order(client.get(f"/?{query}").content.decode()))

    assert listed("team=payments") == ["checkout-api", "refunds"]
    assert listed("status=major_outage") == ["checkout-api", "search-indexer"]
    assert listed("tier=critical") == ["checkout-api", "search-api"]
    assert listed("q=index") == ["search-indexer"]
    assert listed("q=Search") == ["search-api", "search-indexer"]  # the team's name
    assert listed("team=search&tier=low&status=major_outage") == ["search-indexer"]
    assert len(listed("team=no-such-team&status=bogus")) == 4  # stale values are ignored


def test_filter_form_keeps_its_values_and_offers_a_clear_link(client, viewer, service):
    client.force_login(viewer)

    html = client.get("/?team=payments&status=major_outage&tier=high&q=chec").content.decode()

    assert '<option value="payments" selected>Payments</option>' in html
    assert '<option value="major_outage" selected>Major outage</option>' in html
    assert '<option value="high" selected>High</option>' in html
    assert 'value="chec"' in html
    assert '<a href="/">Clear filters</a>' in html


def test_summary_counts_each_status_over_the_filtered_services(client, viewer, team):
    for index, state in enumerate([State.DOWN, State.UP, State.UP, State.DEGRADED]):
        set_state(make_check(make_service(f"svc-{index}", team=team)), state)
    client.force_login(viewer)

    html = client.get("/?status=operational").content.decode()
    summary = html[html.index('<ul class="summary">') : html.index("</ul>")]

    assert "<strong>4</strong> services" in summary
    assert re.search(r"Major outage</span></span> <strong>1</strong>", summary)
    assert re.search(r"Degraded</span></span> <strong>1</strong>", summary)
    assert re.search(r"Operational</span></span> <strong>2</strong>", summary)
    assert 'id="count-operational" href="?status=operational" aria-current="true"' in summary
    assert sorted(rows_in_order(html)) == ["svc-1", "svc-2"]


def test_region_polls_the_partial_with_the_current_filters(client, viewer, service):
    client.force_login(viewer)

    html = client.get("/?team=payments&q=chec").content.decode()

    assert re.search(r'hx-get="/partials/services/\?team=payments&amp;q=chec&amp;fp=\w+"', html)
    assert 'hx-trigger="every 15s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert re.search(r'<script src="/static/vendor/htmx\.min\.[0-9a-f]+\.js" defer>', html)
    assert '"includeIndicatorStyles": false' in html


def test_partial_returns_only_the_region(client, viewer, service, other_service):
    client.force_login(viewer)

    response = client.get("/partials/services/?team=payments", headers={"HX-Request": "true"})
    html = response.content.decode()

    assert response.status_code == 200
    assert html.startswith('<section id="services-region"')
    assert html.rstrip().endswith("</section>")
    assert "<html" not in html
    assert "<form" not in html
    assert rows_in_order(html) == ["checkout-api"]


def test_partial_sends_a_signed_out_page_to_sign_in(client):
    htmx = client.get("/partials/services/", headers={"HX-Request": "true"})
    plain = client.get("/partials/services/")

    assert htmx.status_code == 200
    assert htmx["HX-Redirect"] == "/accounts/login/?next=/"
    assert htmx.content == b""
    assert plain.status_code == 302


def test_refresh_can_be_paused_and_resumed(client, viewer, service):
    client.force_login(viewer)

    html = client.get("/?team=payments&refresh=off").content.decode()

    assert "hx-trigger" not in html
    assert "Auto-refresh is paused" in html
    assert '<a id="refresh-control" href="?team=payments">Resume auto-refresh</a>' in html


def test_pages_carry_no_inline_script_or_style(client, viewer, service):
    set_state(make_check(service), State.UP, latency_ms=50.0)
    client.force_login(viewer)

    html = client.get("/").content.decode()

    tags = re.findall(r"<[a-zA-Z][^>]*>", html)

    assert not [t for t in tags if " style=" in t]
    assert "<style" not in html
    assert not [t for t in tags if re.search(r"\son[a-z]+=", t)]
    assert all(" src=" in t for t in tags if t.startswith("<script"))


def test_an_empty_catalog_says_how_to_add_services(client, viewer):
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert "No services yet" in html
    assert 'href="/admin/catalog/service/add/"' in html
    assert "sync_catalog" in html


def test_a_filter_without_matches_offers_to_clear_it(client, viewer, service):
    client.force_login(viewer)

    html = client.get("/?q=nothing-like-this").content.decode()

    assert "No services match" in html
    assert '<a href="/">Clear filters</a>' in html


def test_query_count_is_the_same_for_10_and_500_services_on_any_page(client, viewer, team):
    bulk_catalog(team, 10, prefix="first")
    client.force_login(viewer)
    client.get("/")  # warm: session and user caches are not what is measured

    with CaptureQueriesContext(connection) as ten:
        small = client.get("/")
    bulk_catalog(team, 490, prefix="more")
    with CaptureQueriesContext(connection) as five_hundred:
        large = client.get("/")
    with CaptureQueriesContext(connection) as partial:
        client.get("/partials/services/")
    with CaptureQueriesContext(connection) as last_page:
        tenth = client.get("/?page=10")

    assert len(rows_in_order(small.content.decode())) == 10
    assert len(rows_in_order(large.content.decode())) == PAGE_SIZE
    assert len(rows_in_order(tenth.content.decode())) == PAGE_SIZE
    assert len(ten) == len(five_hundred), [q["sql"][:120] for q in five_hundred]
    # Rows, notices, the viewer's permissions, and the open alerts (some services are down).
    assert len(five_hundred) <= 16
    assert len(partial) <= len(five_hundred)  # no site navigation in the partial
    assert len(last_page) == len(five_hundred)
