"""Acknowledging an outage: a signed one-time link in the message, or the pages' button."""

import time
from urllib.parse import urlsplit

import pytest
import time_machine

from statuspage.alerts import acks
from statuspage.alerts.models import Ack, AckVia, Event, EventKind
from tests.alerts.eventkit import at, down, make_channel, quick_check, up
from tests.factories import PASSWORD, make_service, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage(service, team):
    make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    return Event.objects.get(kind=EventKind.DOWN)


def link_path(event) -> str:
    return urlsplit(acks.ack_url(service_id=event.service_id, event_id=event.pk)).path


def test_the_link_shows_one_button_and_acknowledges_nothing_on_its_own(client, outage):
    page = client.get(link_path(outage))
    assert page.status_code == 200
    assert b"Acknowledge the alert of Checkout Api" in page.content
    assert not Ack.objects.exists()


def test_pressing_the_button_acknowledges_without_a_login(client, outage, service):
    answer = client.post(link_path(outage))
    assert answer.status_code == 200
    assert b"Acknowledged." in answer.content
    ack = Ack.objects.get()
    assert (ack.service, ack.event, ack.via, ack.by) == (service, outage, AckVia.LINK, None)


def test_a_used_link_is_refused_with_410(client, outage):
    path = link_path(outage)
    client.post(path)
    again = client.post(path)
    assert again.status_code == 410
    assert b"used already" in again.content
    assert client.get(path).status_code == 410
    assert Ack.objects.count() == 1


def test_a_tampered_link_is_refused_with_400(client, outage):
    path = link_path(outage)
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    answer = client.post(forged)
    assert answer.status_code == 400
    assert b"not valid" in answer.content
    assert not Ack.objects.exists()


def test_an_expired_link_is_refused_with_410(client, outage, settings):
    settings.ALERTS_ACK_LINK_MAX_AGE_S = 3600
    path = link_path(outage)
    with time_machine.travel(time.time() + 3601, tick=False):
        answer = client.post(path)
    assert answer.status_code == 410
    assert b"expired" in answer.content
    assert not Ack.objects.exists()


def test_a_link_cannot_be_used_for_another_service(client, outage, team):
    make_service("cart", team=team)
    path = link_path(outage).replace("/ack/checkout-api/", "/ack/cart/")
    answer = client.post(path)
    assert answer.status_code == 400
    assert b"another service" in answer.content
    assert not Ack.objects.exists()


def test_a_link_for_an_event_of_another_service_is_refused(client, outage, team):
    cart = make_service("cart", team=team)
    token = acks.ack_token(service_id=cart.pk, event_id=outage.pk)
    answer = client.post(f"/ack/cart/{token}/")
    assert answer.status_code == 410
    assert not Ack.objects.exists()


def test_a_team_member_acknowledges_from_the_pages(client, outage, service, team):
    member = make_user("dana")
    team.members.add(member)
    client.login(username="dana", password=PASSWORD)
    answer = client.post(f"/ack/{service.slug}/", {"next": "/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    ack = Ack.objects.get()
    assert (ack.by, ack.via, ack.event) == (member, AckVia.PAGE, outage)
    again = client.post(f"/ack/{service.slug}/", {"next": "https://elsewhere.example/"})
    assert again["Location"] == f"/services/{service.slug}/"
    assert Ack.objects.count() == 1


def test_someone_outside_the_team_cannot_acknowledge(client, outage, service):
    make_user("eve")
    client.login(username="eve", password=PASSWORD)
    assert client.post(f"/ack/{service.slug}/").status_code == 403
    client.logout()
    answer = client.post(f"/ack/{service.slug}/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not Ack.objects.exists()


def test_the_acknowledgement_ends_when_the_service_recovers(client, outage, service):
    client.post(link_path(outage))
    check = outage.check_ref
    up(check, at(30))
    ack = Ack.objects.get()
    assert ack.ended_at == at(30)
    down(check, at(40))
    assert acks.is_acknowledged(service.pk) is False


def test_one_check_recovering_keeps_the_ack_while_another_is_down(client, outage, service):
    second = quick_check(service, name="GET /ready")
    down(second, at(2))
    client.post(link_path(outage))
    up(outage.check_ref, at(30))
    assert acks.is_acknowledged(service.pk) is True


def test_open_alerts_name_who_acknowledged_and_how_long_ago(outage, service, team):
    member = make_user("dana")
    team.members.add(member)
    outsider = make_user("eve")
    [before] = acks.open_alerts(user=member)
    assert (before.slug, before.ack_at, before.can_ack) == ("checkout-api", None, True)
    assert acks.open_alerts(user=outsider)[0].can_ack is False
    with time_machine.travel(at(10), tick=False):
        acks.alert_ack(service=service, event=outage, by=member, via=AckVia.PAGE)
    with time_machine.travel(at(13), tick=False):
        [after] = acks.open_alerts(user=outsider, team_slug=team.slug)
        assert (after.ack_by, after.ack_ago_text) == ("dana", "3 min ago")
    assert acks.open_alerts(user=member, team_slug="search") == []


def test_a_check_disabled_while_down_leaves_the_open_alerts(outage, service):
    viewer = make_user("dana")
    assert [alert.slug for alert in acks.open_alerts(user=viewer)] == ["checkout-api"]
    check = outage.check_ref
    check.is_enabled = False
    check.save(update_fields=["is_enabled"])
    assert acks.open_alerts(user=viewer) == []
