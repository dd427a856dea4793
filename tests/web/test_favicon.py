"""/favicon.ico, which browsers ask every site for, is served (no 404 on any page)."""

import pytest


@pytest.mark.django_db
def test_the_favicon_is_served_with_a_day_of_caching(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response["Cache-Control"] == "public, max-age=86400"
    body = response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an icon file
    assert body[22:30] == b"\x89PNG\r\n\x1a\n"  # holding one PNG image


@pytest.mark.django_db
def test_the_public_pages_link_the_icon(client):
    html = client.get("/status/").content.decode()
    assert '<link rel="icon" href="/static/favicon' in html
    assert 'href="/favicon.ico"' in html
    assert client.post("/favicon.ico").status_code == 405
