"""The team and service pages: who acknowledged a down service, or a button to do it."""

import pytest
import time_machine

from statuspage.alerts import acks
from statuspage.alerts.models import AckVia, Event, EventKind
from tests.alerts.eventkit import at, down, make_channel, quick_check, up
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage(service, team):
    make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    return Event.objects.get(kind=EventKind.DOWN)


@pytest.fixture
def member(team):
    user = make_user("dana")
    team.members.add(user)
    return user


def test_the_team_page_shows_who_acknowledged_and_how_long_ago(client, outage, service, member):
    acks.alert_ack(service=service, event=outage, by=member, via=AckVia.PAGE, now=at(10))
    client.force_login(make_user("viewer"))
    with time_machine.travel(at(13), tick=False):
        html = client.get("/").content.decode()
    assert "acknowledged by dana, 3 min ago" in html


def test_the_team_page_offers_the_button_to_the_team_only(client, outage, service, member):
    client.force_login(member)
    html = client.get("/").content.decode()
    assert f'action="/ack/{service.slug}/"' in html
    client.force_login(make_user("viewer"))
    html = client.get("/").content.decode()
    assert f'action="/ack/{service.slug}/"' not in html
    assert "not acknowledged" in html


def test_acknowledging_from_the_service_page_comes_back_to_it(client, outage, service, member):
    client.force_login(member)
    page = f"/services/{service.slug}/"
    html = client.get(page).content.decode()
    assert f'action="/ack/{service.slug}/"' in html
    answer = client.post(f"/ack/{service.slug}/", {"next": page}, follow=True)
    assert answer.redirect_chain[-1][0] == page
    html = answer.content.decode()
    assert "acknowledged by dana" in html
    assert f'action="/ack/{service.slug}/"' not in html


def test_a_healthy_service_shows_no_alert(client, service, member):
    check = quick_check(service)
    up(check, at(0))
    client.force_login(member)
    assert "open-alerts" not in client.get(f"/services/{service.slug}/").content.decode()
    assert "open-alerts" not in client.get("/").content.decode()
