"""The /alerts/ page: who sees which channels, notification states, paging, test messages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from statuspage.alerts.models import (
    Channel,
    Delivery,
    Event,
    EventKind,
    Notification,
    NotificationState,
)
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _channel(team, name="platform-hooks", **fields) -> Channel:
    defaults = {
        "kind": "webhook",
        "target": "http://hooks.example.test/T000/secret-token",
        "signing_secret": "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3",
    }
    return Channel.objects.create(team=team, name=name, **{**defaults, **fields})


def _notification(channel, service, n=0, *, delivery=None, state=NotificationState.PENDING):
    event = Event.objects.create(
        kind=EventKind.DOWN,
        key=f"transition:{channel.pk}:{n}:down",
        service=service,
        occurred_at=AT,
        context={},
    )
    notification = Notification.objects.create(
        event=event, channel=channel, delivery=delivery, state=state
    )
    Notification.objects.filter(pk=notification.pk).update(created_at=AT + timedelta(minutes=n))
    return notification


@pytest.fixture
def member(team):
    user = make_user("mia")
    team.members.add(user)
    return user


def _signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_page_needs_a_signed_in_user(client):
    response = client.get("/alerts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_member_sees_only_their_teams_channels_and_admin_sees_all(
    member, team, other_team, admin_user
):
    _channel(team, "payments-hooks")
    _channel(other_team, "search-hooks")
    page = _signed_in(member).get("/alerts/").content.decode()
    assert "payments-hooks" in page and "search-hooks" not in page
    page = _signed_in(admin_user).get("/alerts/").content.decode()
    assert "payments-hooks" in page and "search-hooks" in page


def test_targets_are_masked(member, team):
    _channel(team)
    page = _signed_in(member).get("/alerts/").content.decode()
    assert "hooks.example.test" in page
    assert "secret-token" not in page and "whsec_" not in page


def test_each_state_is_shown_with_its_detail(member, team, service):
    channel = _channel(team)
    retrying = Delivery.objects.create(
        channel=channel,
        state="retrying",
        attempts=2,
        next_attempt_at=AT + timedelta(minutes=3),
        last_error="HTTP 503",
    )
    dead = Delivery.objects.create(
        channel=channel, state="dead", attempts=8, last_error="HTTP 404 Not Found"
    )
    sent = Delivery.objects.create(channel=channel, state="sent", attempts=1, sent_at=AT)
    _notification(channel, service, 0)
    _notification(channel, service, 1, delivery=retrying, state=NotificationState.PENDING)
    _notification(channel, service, 2, delivery=dead, state=NotificationState.DEAD)
    _notification(channel, service, 3, delivery=sent, state=NotificationState.SENT)
    member.time_zone = "Europe/Paris"
    member.save()
    page = _signed_in(member).get("/alerts/").content.decode()
    assert "Times in Europe/Paris" in page
    assert "queued" in page and "sent" in page
    # The next attempt in the user's zone (09:33 UTC is 10:33 in Paris in March).
    assert "next attempt" in page and "2026-03-02 10:33:00" in page
    assert "HTTP 404 Not Found" in page and "HTTP 503" in page
    assert sent.key in page


def test_notifications_are_paged_newest_first(member, team, service):
    channel = _channel(team)
    for n in range(55):
        _notification(channel, service, n)
    client = _signed_in(member)
    first = client.get("/alerts/").content.decode()
    assert first.count('class="state-queued"') == 50
    assert "Page 1 of 2" in first
    second = client.get("/alerts/?page=2").content.decode()
    assert second.count('class="state-queued"') == 5
    assert client.get("/alerts/?page=junk").status_code == 200


def test_one_channel_can_be_chosen(member, team, service):
    first, second = _channel(team, "first-hooks"), _channel(team, "second-hooks")
    _notification(first, service, 0)
    _notification(second, service, 1)
    _notification(second, service, 2)
    page = _signed_in(member).get(f"/alerts/?channel={second.pk}").content.decode()
    assert page.count('class="state-queued"') == 2
    assert "Recent notifications of second-hooks" in page


def test_page_query_count_does_not_grow_with_rows(
    member, team, service, django_assert_max_num_queries
):
    channel = _channel(team)
    for n in range(30):
        _notification(channel, service, n)
    client = _signed_in(member)
    client.get("/alerts/")
    with django_assert_max_num_queries(8):
        assert client.get("/alerts/").status_code == 200


def test_send_a_test_message_queues_a_test_event_for_that_channel(
    member, team, django_capture_on_commit_callbacks
):
    channel = _channel(team)
    client = _signed_in(member)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/alerts/channels/{channel.pk}/test/")
    assert response.status_code == 302
    assert response["Location"] == f"/alerts/?channel={channel.pk}"
    assert len(callbacks) == 1  # the delivery task, queued after the commit
    (notification,) = Notification.objects.select_related("event")
    assert notification.channel == channel
    assert notification.event.kind == EventKind.TEST
    assert notification.event.context["test"]["requested_by"] == "mia"
    page = client.get(response["Location"]).content.decode()
    assert f"Test message queued for {channel.name}" in page


def test_test_button_refuses_other_teams_get_and_missing_csrf(member, other_team):
    channel = _channel(other_team, "search-hooks")
    client = _signed_in(member)
    assert client.post(f"/alerts/channels/{channel.pk}/test/").status_code == 404
    assert client.get(f"/alerts/channels/{channel.pk}/test/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.login(username=member.username, password=PASSWORD)
    own = _channel(member.teams.first(), "own-hooks")
    assert strict.post(f"/alerts/channels/{own.pk}/test/").status_code == 403
    assert not Event.objects.exists()
