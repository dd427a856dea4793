"""No public endpoint shows a private service, a draft incident, unpublished maintenance,
owner notes, check targets, check error texts, team contacts or authors: each marker text
of the test world is searched for in every public response, in every state the page can be
in (fresh, from the shared cache, stale from the snapshot)."""

import gzip

import pytest
from django.core.cache import cache

from statuspage.web.public_cache import SNAPSHOT_PAGE, SNAPSHOT_SUMMARY, snapshot_read
from tests.web.public_worlds import SECRETS, build_world

pytestmark = pytest.mark.django_db

V2 = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]


@pytest.fixture
def world():
    return build_world()


def public_urls(world) -> list[str]:
    now = world.now
    return [
        "/status/",
        "/status/history/",
        f"/status/history/{now.year}/{now.month}/",
        f"/status/incidents/{world.active.pk}/",
        f"/status/incidents/{world.resolved.pk}/",
        f"/status/maintenance/{world.upcoming.pk}/",
        f"/status/maintenance/{world.running.pk}/",
        "/status/feed.atom",
        "/status/feed.rss",
        "/status/badge/checkout-api.svg",
        "/status/badge/checkout-api/uptime.svg",
        "/status/badge/search-api.svg",
        *V2,
    ]


def assert_no_secret(url: str, body: bytes) -> None:
    text = body.decode()
    leaked = [secret for secret in SECRETS if secret.lower() in text.lower()]
    assert leaked == [], f"{url} shows {leaked}"


def test_every_public_endpoint_hides_everything_private(client, world):
    urls = public_urls(world)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_secret(url, response.content)
    # The same from the cache, gzipped as browsers get it.
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        body = response.content
        if response.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert_no_secret(url, body)


def test_snapshots_hide_everything_private(client, world):
    client.get("/status/")
    client.get("/api/v2/summary.json")
    for name in (SNAPSHOT_PAGE, SNAPSHOT_SUMMARY):
        assert_no_secret(name, snapshot_read(name).body)


def test_private_draft_and_unpublished_things_are_not_found(client, world):
    hidden = [
        f"/status/incidents/{world.draft.pk}/",
        f"/status/maintenance/{world.unpublished.pk}/",
        "/status/badge/ledger-internal.svg",
        "/status/badge/ledger-internal/uptime.svg",
        "/status/badge/no-such-service.svg",
    ]
    for url in hidden:
        response = client.get(url)
        assert response.status_code == 404, url
        assert_no_secret(url, response.content)


def test_a_service_made_private_disappears_everywhere(client, world):
    world.search.is_public = False
    world.search.save()
    cache.clear()
    for url in [u for u in public_urls(world) if "search-api" not in u]:
        assert "Search Api" not in client.get(url).content.decode(), url
    assert client.get("/status/badge/search-api.svg").status_code == 404


def test_an_incident_reverted_to_draft_disappears_everywhere(client, world):
    world.active.is_published = False
    world.active.save()
    cache.clear()
    for url in public_urls(world):
        response = client.get(url)
        if url == f"/status/incidents/{world.active.pk}/":
            assert response.status_code == 404
        else:
            assert "Elevated checkout errors" not in response.content.decode(), url
