"""STATUS_PAGE_URL: used as set; when unset, taken from the request, else from PORT."""

import pytest
from django.test import Client

from statuspage.core.status_version import status_version_bump
from statuspage.web import public
from statuspage.web.public_cache import local_clear


@pytest.fixture
def fresh_cache(db):
    local_clear()
    status_version_bump()
    yield
    local_clear()


def page_url_of(client: Client, host: str) -> str:
    response = client.get("/api/v2/summary.json", HTTP_HOST=host)
    assert response.status_code == 200
    return response.json()["page"]["url"]


def test_unset_page_url_follows_the_request_host(client, settings, fresh_cache):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "url": ""}
    settings.ALLOWED_HOSTS = ["status.example.com"]
    assert page_url_of(client, "status.example.com") == "http://status.example.com/status/"


def test_unset_page_url_in_feeds_follows_the_request_host(client, settings, fresh_cache):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "url": ""}
    settings.ALLOWED_HOSTS = ["status.example.com"]
    feed = client.get("/status/feed.atom", HTTP_HOST="status.example.com").content.decode()
    assert 'href="http://status.example.com/status/"' in feed
    assert "127.0.0.1" not in feed


def test_a_set_page_url_wins_over_the_request(client, settings, fresh_cache):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "url": "https://status.example.org/status/"}
    settings.ALLOWED_HOSTS = ["internal.example.com"]
    assert page_url_of(client, "internal.example.com") == "https://status.example.org/status/"


def test_without_a_request_the_page_url_follows_port(settings):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "url": ""}
    settings.PORT = 8123
    assert public.page_url() == "http://127.0.0.1:8123/status/"
