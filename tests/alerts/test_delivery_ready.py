"""The outbox line of /ready's detail: what waits, what retries, what is dead."""

import datetime as dt

import pytest
from django.utils import timezone

from statuspage.alerts.models import ChannelKind, Delivery, DeliveryState, EventKind
from statuspage.alerts.readiness import outbox_detail
from tests.alerts.conftest import make_channel
from tests.alerts.eventkit import announce

pytestmark = pytest.mark.django_db


def test_the_outbox_line_counts_each_state(team, service):
    channel = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/x")
    announce(service, EventKind.DOWN, "t:1:down", [channel])
    for state in (DeliveryState.RETRYING, DeliveryState.DEAD, DeliveryState.DEAD):
        Delivery.objects.create(channel=channel, state=state)
    Delivery.objects.create(channel=channel, state=DeliveryState.SENT)

    line = outbox_detail(now=timezone.now() + dt.timedelta(seconds=30))

    assert line.startswith("pending=1 oldest_pending=30s queued=0 sending=0 retrying=1 dead=2")


def test_an_empty_outbox(db):
    assert outbox_detail() == ("pending=0 oldest_pending=- queued=0 sending=0 retrying=0 dead=0")


def test_staff_see_the_outbox_in_the_ready_detail(client, admin_user, team, service):
    channel = make_channel(team, ChannelKind.SLACK, "https://hooks.example.com/x")
    Delivery.objects.create(channel=channel, state=DeliveryState.DEAD, last_error="HTTP 410")
    client.force_login(admin_user)

    body = client.get("/ready").json()

    assert body["checks"]["outbox"]["ok"] is True
    assert "dead=1" in body["checks"]["outbox"]["detail"]
    assert "outbox" not in body.get("failing", [])


def test_anonymous_callers_do_not_see_the_outbox(client, db):
    assert "checks" not in client.get("/ready").json()
