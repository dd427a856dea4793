import json

import pytest
from django.test import override_settings

from statuspage.core.heartbeat import heartbeat_record
from tests.factories import make_user


def test_health_answers_ok_without_touching_the_database(client):
    # No django_db mark: any database access here would raise.
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_health_refuses_post(client):
    assert client.post("/health").status_code == 405


@pytest.mark.django_db
def test_ready_fails_naming_missing_heartbeats(client):
    client.force_login(make_user("ops", staff=True))
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["failing"] == ["worker", "scheduler"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"]["detail"] == "no worker heartbeat yet"


@pytest.mark.django_db
def test_ready_passes_when_every_part_is_fresh(client):
    heartbeat_record(part="worker")
    heartbeat_record(part="scheduler")
    response = client.get("/ready")
    assert response.status_code == 200, json.dumps(response.json())
    assert response.json()["ok"] is True


@pytest.mark.django_db
@override_settings(READY_TOKEN="ready-secret")
def test_ready_fails_on_a_stale_scheduler_heartbeat(client):
    import time

    heartbeat_record(part="worker")
    heartbeat_record(part="scheduler", now=time.time() - 600)
    response = client.get("/ready", HTTP_AUTHORIZATION="Bearer ready-secret")
    assert response.status_code == 503
    assert response.json()["failing"] == ["scheduler"]
    assert "limit 60s" in response.json()["checks"]["scheduler"]["detail"]


@pytest.mark.django_db
def test_ready_names_an_unreachable_broker(client):
    heartbeat_record(part="worker")
    heartbeat_record(part="scheduler")
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.mark.django_db
@override_settings(READY_TOKEN="ready-secret")
def test_anonymous_ready_names_failing_parts_but_no_backend_or_error_class(client):
    heartbeat_record(part="worker")
    heartbeat_record(part="scheduler")
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        anonymous = client.get("/ready")
        wrong_token = client.get("/ready", HTTP_AUTHORIZATION="Bearer not-the-token")
        with_token = client.get("/ready", HTTP_AUTHORIZATION="Bearer ready-secret")
    assert anonymous.status_code == wrong_token.status_code == with_token.status_code == 503
    assert anonymous.json() == wrong_token.json() == {"ok": False, "failing": ["broker"]}
    for hidden in ("postgresql", "RedisCache", "Error", "heartbeat"):
        assert hidden not in anonymous.content.decode()
    detail = with_token.json()["checks"]
    assert detail["broker"]["detail"].startswith("broker unreachable: ")
    assert detail["database"]["ok"] is True


@pytest.mark.django_db
def test_ready_shows_details_to_staff_only(client):
    client.force_login(make_user("reader"))
    assert "checks" not in client.get("/ready").json()
    client.force_login(make_user("ops", staff=True))
    assert "checks" in client.get("/ready").json()
