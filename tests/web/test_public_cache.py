"""Public responses from cache: no query on a hit, a bump invalidates, ETags, gzip, and the
last-good snapshot served (marked stale) while the database is unreachable."""

import gzip
import json
import time
import urllib.request

import pytest
from django.core.cache import cache

from checks.models import Check
from checks.services import check_save
from statuspage.catalog.services import service_delete, service_save
from statuspage.core.status_version import status_version_bump
from statuspage.incidents.models import Incident
from statuspage.web import public_cache
from statuspage.web.public_cache import CACHE_TIMEOUT_S, VERSION_TTL_S, local_clear
from tests.web.public_worlds import build_world, closed_port


def _forget_cached_copies() -> None:
    """What expiry does after CACHE_TIMEOUT_S: no cached copy anywhere."""
    cache.clear()
    local_clear()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/status/", "/api/v2/summary.json", "/status/feed.atom"])
def test_a_cache_hit_runs_no_query(client, django_assert_num_queries, url):
    build_world()
    assert client.get(url).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
    local_clear()  # this process forgot it: the shared cache still answers
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_status_version_bump_after_commit_shows_the_change(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)  # every request reads the version
    world = build_world()
    first = client.get("/status/")
    Incident.objects.filter(pk=world.active.pk).update(title="Checkout is failing")
    assert "Checkout is failing" not in client.get("/status/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        status_version_bump()
    second = client.get("/status/")
    assert "Checkout is failing" in second.content.decode()
    assert second["ETag"] != first["ETag"]


@pytest.mark.django_db
def test_editing_a_service_or_a_check_through_the_services_invalidates_the_cached_page(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    """The admin, sync_catalog and the API save services and checks through these services:
    a service made private leaves the page, a paused check stops counting, at once."""
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)
    world = build_world()
    assert "Search Api" in client.get("/status/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        world.search.is_public = False
        service_save(service=world.search)
    html = client.get("/status/").content.decode()
    assert "Search Api" not in html
    assert "Search Api" not in client.get("/api/v2/summary.json").content.decode()

    def checkout_status() -> str:
        components = client.get("/api/v2/components.json").json()["components"]
        return next(c["status"] for c in components if c["name"] == "Checkout")

    assert checkout_status() == "partial_outage"  # the open incident's word
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")  # no bump
    assert checkout_status() == "partial_outage"  # still the cached copy
    with django_capture_on_commit_callbacks(execute=True):
        for check in Check.objects.filter(service=world.checkout):
            check.is_paused = True
            check_save(check=check, changed=["is_paused"])
    assert checkout_status() == "operational"  # paused checks claim nothing
    with django_capture_on_commit_callbacks(execute=True):
        service_delete(services=[world.worker])
    assert "Payments Worker" not in client.get("/status/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_every_process_sees_a_bump_within_the_version_ttl(client):
    world = build_world()
    client.get("/api/v2/summary.json")
    Incident.objects.filter(pk=world.active.pk).update(title="Checkout is failing")
    status_version_bump()  # outside a transaction: at once
    time.sleep(VERSION_TTL_S)
    assert "Checkout is failing" in client.get("/api/v2/summary.json").content.decode()


@pytest.mark.django_db
def test_entries_age_out_so_uptime_figures_move(client, time_machine, django_assert_num_queries):
    build_world()
    time_machine.move_to("2026-11-26 12:00:00+00:00", tick=False)
    client.get("/api/v2/summary.json")
    time_machine.shift(CACHE_TIMEOUT_S + 1)
    with django_assert_num_queries(7):
        client.get("/api/v2/summary.json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/status/", "/api/v2/summary.json", "/status/badge/search-api.svg"]
)
def test_etag_and_if_none_match_answer_304(client, url):
    build_world()
    response = client.get(url)
    etag = response["ETag"]
    assert etag.startswith('W/"')
    assert response["Cache-Control"] == "public, max-age=30"
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    strong = etag.removeprefix("W/")
    assert client.get(url, headers={"If-None-Match": f'"other", {strong}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.django_db
def test_gzip_is_served_to_clients_that_accept_it(client):
    build_world()
    plain = client.get("/status/")
    zipped = client.get("/status/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] == plain["ETag"]
    assert "Accept-Encoding" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content) / 4


@pytest.mark.django_db
def test_each_render_leaves_a_snapshot_with_its_time(client, settings):
    build_world()
    client.get("/status/")
    client.get("/api/v2/summary.json")
    folder = settings.STATUS_SNAPSHOT_DIR
    assert sorted(p.name for p in folder.iterdir()) == [
        "status-page.snapshot",
        "summary-json.snapshot",
    ]
    head, _, body = (folder / "summary-json.snapshot").read_bytes().partition(b"\n")
    header = json.loads(head)
    assert header["content_type"] == "application/json"
    assert header["rendered_at"] > 0
    assert header["encoding"] == "gzip"  # the copy served to browsers, a fiftieth of the page
    assert json.loads(gzip.decompress(body))["status"]["indicator"] == "major"
    head, _, body = (folder / "status-page.snapshot").read_bytes().partition(b"\n")
    assert json.loads(head)["encoding"] == "gzip"
    assert b"Elevated checkout errors" in gzip.decompress(body)


@pytest.mark.postgres
def test_the_page_and_summary_come_from_the_snapshot_while_the_database_is_down(
    client, break_database
):
    build_world()
    fresh_page = client.get("/status/").content.decode()
    fresh_summary = client.get("/api/v2/summary.json").json()
    _forget_cached_copies()
    break_database()

    page = client.get("/status/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "This page may be out of date: last updated" in html
    assert "Elevated checkout errors" in html and "Checkout" in html
    assert "This page may be out of date" not in fresh_page
    assert page["X-Status-Stale"] == "1"
    assert page["Warning"] == '110 - "Response is Stale"'
    assert page["Cache-Control"] == "public, max-age=10"

    summary = client.get("/api/v2/summary.json")
    assert summary.status_code == 200
    assert summary["X-Status-Stale"] == "1"
    data = summary.json()
    assert data["stale"] is True
    assert {k: v for k, v in data.items() if k != "stale"} == fresh_summary
    assert summary["Access-Control-Allow-Origin"] == "*"

    # Responses without a snapshot say so plainly instead of failing with a 500.
    incidents = client.get("/api/v2/incidents.json")
    assert incidents.status_code == 503
    assert incidents["Retry-After"] == "30"


@pytest.mark.postgres
def test_without_a_snapshot_a_database_outage_is_a_503(client, break_database):
    break_database()
    assert client.get("/status/").status_code == 503
    assert client.get("/api/v2/summary.json").status_code == 503


@pytest.mark.django_db
def test_with_the_cache_server_unreachable_every_request_renders(client, settings):
    build_world()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    local_clear()
    for url in ("/status/", "/status/", "/api/v2/summary.json"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Elevated checkout errors" in response.content.decode()


@pytest.mark.postgres
def test_a_signed_in_visitor_also_gets_the_snapshot_while_the_database_is_down(
    client, break_database
):
    from tests.factories import make_user

    build_world()
    client.force_login(make_user("night-owl"))
    client.get("/status/")
    _forget_cached_copies()
    break_database()
    page = client.get("/status/")
    assert page.status_code == 200
    assert "This page may be out of date" in page.content.decode()


@pytest.mark.postgres
def test_a_damaged_snapshot_is_a_503_not_a_500(client, settings, break_database):
    build_world()
    client.get("/status/")
    path = settings.STATUS_SNAPSHOT_DIR / "status-page.snapshot"
    path.write_bytes(path.read_bytes()[:-100])  # cut short, as by a full disk
    _forget_cached_copies()
    break_database()
    response = client.get("/status/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


@pytest.mark.postgres
def test_a_failed_past_days_refresh_waits_for_the_next_period(client, break_database, caplog):
    """With the database down, the refresh at the end of a request fails once and is not
    tried again at the end of every request (each try waits for the pool's timeout)."""
    build_world()
    client.get("/status/")
    break_database()
    public_cache._past["due"] = True
    public_cache.past_days_refresh()
    public_cache.past_days_refresh()
    failures = [r for r in caplog.records if r.getMessage() == "public_past_days_refresh_failed"]
    assert len(failures) == 1
    assert public_cache._past["due"] is False
    assert client.get("/status/").status_code == 200  # the snapshot, marked stale


@pytest.mark.django_db(transaction=True)
def test_a_real_server_reads_due_past_days_after_sending_the_response(live_server, monkeypatch):
    """Past days past their time are served as they are, then read again once the server
    has closed the response (request_finished), not while the visitor waits."""
    build_world()
    url = f"{live_server.url}/status/"

    def render() -> None:
        status_version_bump()  # no cached copy: the server renders
        time.sleep(VERSION_TTL_S)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200

    render()
    first_read = public_cache._past["read_at"]
    assert first_read > float("-inf")  # read before the first answer
    monkeypatch.setattr(public_cache, "PAST_DAYS_TTL_S", 0)
    render()  # a render with days past their time only marks them due
    deadline = time.monotonic() + 5
    while public_cache._past["read_at"] == first_read and time.monotonic() < deadline:
        time.sleep(0.01)
    assert public_cache._past["read_at"] > first_read
    assert public_cache._past["due"] is False
