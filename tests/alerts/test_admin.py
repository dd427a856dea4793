"""Channels in the admin: secrets sealed at rest, masked after saving, a signing secret shown
once; deliveries read-only with dead letters and their reason."""

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from statuspage.alerts.models import Channel, ChannelKind, Delivery, DeliveryState
from tests.alerts.conftest import make_channel
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/services/T000/B000/tok3n-s3cret"


@pytest.fixture
def admin_client(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    return client


def add(client, team, **fields):
    data = {"team": team.pk, "name": "oncall", "kind": "webhook", "target": HOOK,
            "min_tier": "low", "enabled": "on", **fields}  # fmt: skip
    data.update({
        "services-TOTAL_FORMS": "0", "services-INITIAL_FORMS": "0",
        "services-MIN_NUM_FORMS": "0", "services-MAX_NUM_FORMS": "1000",
    })  # fmt: skip
    return client.post(reverse("admin:alerts_channel_add"), data)


def stored(channel_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT target, signing_secret FROM alerts_channel WHERE id = %s", [channel_id]
        )
        return cursor.fetchone()


def test_a_webhook_channel_shows_its_signing_secret_once_and_stores_both_sealed(admin_client, team):
    response = add(admin_client, team)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    channel = Channel.objects.get()
    secret = channel.secret_value()
    assert secret.startswith("whsec_")
    assert secret in response.content.decode()
    target, sealed_secret = stored(channel.pk)
    assert target.startswith("sealed:") and "tok3n" not in target
    assert sealed_secret.startswith("sealed:") and secret not in sealed_secret

    page = admin_client.get(reverse("admin:alerts_channel_change", args=[channel.pk])).content
    listing = admin_client.get(reverse("admin:alerts_channel_changelist")).content
    for html in (page.decode(), listing.decode()):
        assert "tok3n-s3cret" not in html
        assert secret not in html
    assert "https://hooks.example.com/********" in page.decode()


def test_leaving_the_target_empty_keeps_the_stored_one(admin_client, team):
    add(admin_client, team)
    channel = Channel.objects.get()
    data = {"team": team.pk, "name": "renamed", "kind": "webhook", "target": "",
            "min_tier": "high", "enabled": "on", "services-TOTAL_FORMS": "0",
            "services-INITIAL_FORMS": "0", "services-MIN_NUM_FORMS": "0",
            "services-MAX_NUM_FORMS": "1000"}  # fmt: skip
    secret = channel.secret_value()

    response = admin_client.post(reverse("admin:alerts_channel_change", args=[channel.pk]), data)

    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.min_tier, channel.target_value()) == ("renamed", "high", HOOK)
    assert channel.secret_value() == secret


@override_settings(CHECK_PRIVATE_TARGETS=[])
def test_a_loopback_target_is_refused_with_a_form_error(admin_client, team):
    response = add(admin_client, team, target="http://127.0.0.1:9000/hook")

    assert response.status_code == 200
    assert "127.0.0.1 is a loopback address" in response.content.decode()
    assert not Channel.objects.exists()


def test_a_metadata_target_is_refused(admin_client, team):
    response = add(admin_client, team, kind="slack", target="http://169.254.169.254/hook")
    assert "cloud metadata address" in response.content.decode()
    assert not Channel.objects.exists()


def test_a_bad_email_address_names_its_position(admin_client, team):
    response = add(admin_client, team, kind="email", target="ops@example.com, nope")
    assert "address 2 is not an email address" in response.content.decode()


def test_dead_letters_are_listed_with_their_reason(admin_client, team):
    channel = make_channel(team, ChannelKind.SLACK, HOOK)
    Delivery.objects.create(channel=channel, state=DeliveryState.DEAD, last_error="HTTP 404")
    Delivery.objects.create(channel=channel, state=DeliveryState.SENT)

    response = admin_client.get(reverse("admin:alerts_delivery_changelist") + "?dead=yes")

    html = response.content.decode()
    assert "HTTP 404" in html
    assert "1 delivery" in html


def test_editors_do_not_see_channels(client, editor):
    client.login(username=editor.username, password=PASSWORD)
    response = client.get(reverse("admin:alerts_channel_changelist"))
    assert response.status_code == 403
