"""The project's error views: clear messages, JSON on the API, and a database outage
raised outside a view (a middleware saving the session, say) still answered as a 503."""

import json

import pytest
from django.db import OperationalError

from statuspage.core.errors import handler500


@pytest.mark.django_db
def test_a_bad_host_is_a_400_page_with_django_s_message(client):
    response = client.get("/status/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Invalid HTTP_HOST header: &#x27;evil.example&#x27;" in response.content.decode()


@pytest.mark.django_db
def test_a_bad_host_on_the_api_is_a_400_json(client):
    response = client.get("/api/v1/services", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid HTTP_HOST header")


@pytest.mark.parametrize(
    ("path", "content_type"), [("/admin/", "text/html"), ("/api/v1/services", "application/json")]
)
def test_a_database_error_outside_a_view_becomes_a_503(rf, path, content_type):
    request = rf.get(path)
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = handler500(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Content-Type"].startswith(content_type)


def test_any_other_error_is_a_500_without_details(rf):
    try:
        raise RuntimeError("secret internals")
    except RuntimeError:
        page = handler500(rf.get("/"))
        api = handler500(rf.get("/api/v1/services"))
    assert page.status_code == api.status_code == 500
    assert b"secret internals" not in page.content + api.content
    assert json.loads(api.content) == {"detail": "internal error; it has been logged"}
