"""The team page at scale and what it must not hide: one page of rows at a time, worst
first; a refresh that answers 204 while nothing changed; jobs that never pinged; the main
request check's latency; when a pending verdict is due."""

import re
from datetime import timedelta

import pytest
import time_machine

from checks.models import Check, Kind, State
from statuspage.web.paging import PAGE_SIZE, Paging
from tests.checks.factories import make_check
from tests.web.team_worlds import NOW, bulk_catalog, deploy, row_of, rows_in_order, set_state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def fingerprint_of(html: str) -> str:
    return re.search(r'hx-get="[^"]*fp=(\w+)"', html).group(1)


def test_a_long_list_is_paged_worst_first(client, viewer, team):
    # bulk_catalog's request checks cycle up, down, degraded: 40 of 60 services in trouble.
    bulk_catalog(team, PAGE_SIZE + 10)
    client.force_login(viewer)

    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()

    first_rows, second_rows = rows_in_order(first), rows_in_order(second)
    assert len(first_rows) == PAGE_SIZE
    assert len(second_rows) == 10
    assert not set(first_rows) & set(second_rows)
    # Every service in trouble (two in three) is on the first page, ahead of the healthy.
    tones = [re.search(r'class="tone-row-(\w+)"', row_of(first, s)).group(1) for s in first_rows]
    assert "ok" not in tones[:40]
    assert set(tones[40:]) == {"ok"}
    assert "Services 1\u201350 of 60" in first
    assert 'href="?page=2" rel="next"' in first
    assert "Services 51\u201360 of 60" in second
    assert 'href="?" rel="prev"' in second or 'href="?page=1" rel="prev"' in second
    # The summary still counts every service, not only the page's.
    assert "<strong>60</strong> services" in second


def test_a_page_number_out_of_range_or_not_a_number_is_answered_not_refused(client, viewer, team):
    bulk_catalog(team, PAGE_SIZE + 1)
    client.force_login(viewer)

    for asked, rows in [("abc", PAGE_SIZE), ("-3", PAGE_SIZE), ("999", 1), ("2", 1)]:
        response = client.get(f"/?page={asked}")
        assert response.status_code == 200, asked
        assert len(rows_in_order(response.content.decode())) == rows, asked


def test_page_links_leave_out_the_middle_of_a_long_run():
    paging = Paging.of(10, total=50 * PAGE_SIZE)

    assert paging.links == [1, None, 8, 9, 10, 11, 12, None, 50]
    assert Paging.of(1, total=0).links == [1]
    assert Paging.of(3, total=2 * PAGE_SIZE).number == 2


def test_status_links_and_the_refresh_keep_the_page(client, viewer, team):
    bulk_catalog(team, PAGE_SIZE + 5)
    client.force_login(viewer)

    html = client.get("/?page=2").content.decode()

    assert re.search(r'hx-get="/partials/services/\?page=2&amp;fp=\w+"', html)
    # A status filter starts again from its first page.
    assert 'id="count-partial_outage" href="?status=partial_outage"' in html


def test_refresh_answers_204_until_something_the_viewer_sees_changes(client, viewer, service):
    check = make_check(service, state=State.UP)
    set_state(check, State.UP, latency_ms=120.0)
    client.force_login(viewer)
    fp = fingerprint_of(client.get("/").content.decode())

    unchanged = client.get(f"/partials/services/?fp={fp}", headers={"HX-Request": "true"})
    set_state(check, State.DOWN, detail="connection refused")
    changed = client.get(f"/partials/services/?fp={fp}", headers={"HX-Request": "true"})

    assert unchanged.status_code == 204
    assert unchanged.content == b""
    assert changed.status_code == 200
    assert "Major outage" in changed.content.decode()
    assert fingerprint_of(changed.content.decode()) != fp


def test_a_heartbeat_that_never_pinged_is_waiting_not_on_time(client, viewer, service):
    make_check(service, "nightly", kind=Kind.HEARTBEAT, interval_s=86_400, config={})
    pinged = make_check(service, "hourly", kind=Kind.HEARTBEAT, interval_s=3_600, config={})
    Check.objects.filter(pk=pinged.pk).update(last_ping_at=NOW - timedelta(minutes=5))
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "1 waiting for first ping" in row
    assert "1 on time" in row
    assert "2 on time" not in row


def test_headline_latency_comes_from_the_http_check_even_while_it_is_down(client, viewer, service):
    http = make_check(service, "health", degraded_ms=300)
    set_state(http, State.DOWN, detail="connection refused")
    make_check(service, "certificate", kind=Kind.TLS, config={"host": "example.com"})
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")

    assert "limit 300 ms" in row
    assert "limit none" not in row


def test_a_pending_verdict_says_when_it_is_due_in_the_viewers_zone(
    client, viewer, service, settings
):
    settings.DEPLOY_VERDICT_WINDOW_S = 1800
    viewer.time_zone = "Europe/Berlin"
    viewer.save()
    deploy(service, "2026.11.26-2", at=NOW - timedelta(minutes=5))
    client.force_login(viewer)

    row = row_of(client.get("/").content.decode(), "checkout-api")
    page = client.get("/services/checkout-api/").content.decode()

    # 12:25 UTC + 30 minutes = 12:55 UTC = 13:55 in Berlin.
    assert "due at 13:55" in row
    assert "due at 13:55" in page
