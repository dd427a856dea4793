"""Atom and RSS feeds (read back with feedparser) and the SVG badges of public services."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import feedparser
import pytest

from checks.models import Check, Rollup, State
from checks.rollups import rollup_day_compute
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def world():
    return build_world()


def parsed(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


def test_the_atom_feed_lists_published_incidents_and_maintenance(client, world):
    response, feed = parsed(client, "/status/feed.atom")
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert feed.version == "atom10"
    assert feed.feed.title == "Status: incidents and maintenance"
    assert feed.feed.link == "http://testserver/status/"
    titles = {entry.title for entry in feed.entries}
    assert titles == {
        "Elevated checkout errors",
        "Slow search results",
        "Maintenance: Database upgrade",
        "Maintenance: Queue migration",
    }
    by_title = {entry.title: entry for entry in feed.entries}
    active = by_title["Elevated checkout errors"]
    assert active.link == f"http://testserver/status/incidents/{world.active.pk}/"
    assert active.id == active.link
    assert "A bad cache node was found." in active.summary
    assert "<strong>looking</strong>" in active.summary
    assert "Affected: Checkout" in active.summary
    assert {tag.term for tag in active.tags} == {"incident", "major", "identified"}
    assert active.updated_parsed is not None
    maintenance = by_title["Maintenance: Database upgrade"]
    assert maintenance.link.endswith(f"/status/maintenance/{world.upcoming.pk}/")


def test_the_rss_feed_has_the_same_items(client, world):
    response, feed = parsed(client, "/status/feed.rss")
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert feed.version == "rss20"
    assert len(feed.entries) == 4
    assert all(entry.link.startswith("http://testserver/status/") for entry in feed.entries)
    assert all(entry.published_parsed for entry in feed.entries)


def test_feeds_are_newest_change_first(client, world):
    _, feed = parsed(client, "/status/feed.atom")
    stamps = [entry.updated_parsed for entry in feed.entries]
    assert stamps == sorted(stamps, reverse=True)


def badge(client, url: str) -> tuple[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    root = ElementTree.fromstring(response.content)  # noqa: S314  (our own test server)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("role") == "img"
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    return root.find(f"{SVG_NS}title").text, texts


def test_the_status_badge_says_the_component_status(client, world):
    title, texts = badge(client, "/status/badge/checkout-api.svg")
    assert title == "Checkout: partial outage"
    assert texts == ["Checkout", "Checkout", "partial outage", "partial outage"]
    title, _ = badge(client, "/status/badge/search-api.svg")
    assert title == "Search Api: operational"
    title, _ = badge(client, "/status/badge/payments-worker.svg")
    assert title == "Payments Worker: under maintenance"


def test_the_uptime_badge_shows_thirty_days_from_rollups(client, world):
    check = Check.objects.get(service=world.search)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for day, up, down in ((today, 990, 10), (today - timedelta(days=45), 0, 1000)):
        # As the engine does it: an hour's counts, then the day rebuilt from its hours.
        Rollup.objects.create(check_ref=check, period="hour", start=day, up=up, down=down)
        rollup_day_compute(start=day)
    title, _ = badge(client, "/status/badge/search-api/uptime.svg")
    assert title == "Search Api uptime 30d: 99.00%"
    title, _ = badge(client, "/status/badge/payments-worker/uptime.svg")
    assert title == "Payments Worker uptime 30d: No data"


def test_badge_text_is_escaped(client, world):
    world.search.public_name = 'Search <&> "quoted"'
    world.search.save()
    Check.objects.filter(service=world.search).update(state=State.DOWN)
    title, _ = badge(client, "/status/badge/search-api.svg")
    assert title == 'Search <&> "quoted": major outage'


def test_private_and_unknown_services_have_no_badge(client, world):
    for url in (
        "/status/badge/ledger-internal.svg",
        "/status/badge/ledger-internal/uptime.svg",
        "/status/badge/nothing-here.svg",
    ):
        assert client.get(url).status_code == 404
