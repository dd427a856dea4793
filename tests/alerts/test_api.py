"""Channels over the API: the token's own team only, secrets masked, a signing secret once."""

import json

import pytest
from django.test import override_settings

from statuspage.alerts.models import Channel, ChannelKind
from statuspage.api.services import api_token_create
from tests.alerts.conftest import make_channel
from tests.factories import token_owner

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/services/T000/B000/tok3n-s3cret"


def token(team, *scopes: str) -> str:
    return api_token_create(team=team, name="CI", scopes=list(scopes), created_by=token_owner())[1]


def put(client, tok: str, name: str, body: dict):
    return client.put(
        f"/api/v1/alerts/channels/{name}",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {tok}"},
    )


def test_creating_a_webhook_channel_answers_its_secret_once(client, team):
    tok = token(team, "checks:write", "read")

    created = put(client, tok, "oncall", {"kind": "webhook", "target": HOOK, "events": ["down"]})
    listed = client.get("/api/v1/alerts/channels", headers={"Authorization": f"Bearer {tok}"})

    assert created.status_code == 201
    secret = created.json()["signing_secret"]
    channel = Channel.objects.get()
    assert secret == channel.secret_value() and secret.startswith("whsec_")
    assert created.json()["target"] == "https://hooks.example.com/********"
    (row,) = listed.json()
    assert row["signing_secret"] == "whsec_********"
    assert "tok3n" not in listed.content.decode()
    assert row["events"] == ["down"]


def test_sending_the_masked_target_back_keeps_the_stored_one(client, team):
    tok = token(team, "checks:write")
    put(client, tok, "oncall", {"kind": "slack", "target": HOOK})

    masked = "https://hooks.example.com/********"
    response = put(client, tok, "oncall", {"kind": "slack", "target": masked, "min_tier": "high"})

    assert response.status_code == 200
    channel = Channel.objects.get()
    assert (channel.target_value(), channel.min_tier) == (HOOK, "high")


def test_bad_fields_are_422_naming_the_field(client, team):
    tok = token(team, "checks:write")
    response = put(client, tok, "oncall", {"kind": "slack", "target": HOOK, "events": ["nope"]})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "events" and "nope" in error["message"]

    missing = put(client, tok, "other", {"kind": "slack"})
    assert missing.status_code == 422


@override_settings(CHECK_PRIVATE_TARGETS=[])
def test_a_loopback_target_is_refused(client, team):
    tok = token(team, "checks:write")
    response = put(client, tok, "oncall", {"kind": "slack", "target": "http://127.0.0.1/x"})
    assert response.status_code == 422
    assert "loopback" in response.content.decode()


def test_another_teams_channels_are_invisible(client, team, other_team):
    make_channel(other_team, ChannelKind.SLACK, HOOK, name="theirs")
    tok = token(team, "checks:write", "read")

    listed = client.get("/api/v1/alerts/channels", headers={"Authorization": f"Bearer {tok}"})
    deleted = client.delete(
        "/api/v1/alerts/channels/theirs", headers={"Authorization": f"Bearer {tok}"}
    )

    assert listed.json() == []
    assert deleted.status_code == 404
    assert Channel.objects.filter(name="theirs").exists()


def test_writing_needs_the_write_scope(client, team):
    response = put(client, token(team, "read"), "oncall", {"kind": "slack", "target": HOOK})
    assert response.status_code == 403
    assert not Channel.objects.exists()


def test_delete_removes_the_channel(client, team):
    tok = token(team, "checks:write")
    put(client, tok, "oncall", {"kind": "slack", "target": HOOK})
    response = client.delete(
        "/api/v1/alerts/channels/oncall", headers={"Authorization": f"Bearer {tok}"}
    )
    assert response.status_code == 204
    assert not Channel.objects.exists()
