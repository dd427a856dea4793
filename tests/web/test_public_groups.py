"""Component groups of the public page: collapsed, their uptime bars
fetched on demand from /status/groups/<id>/bars/ (cached, kept as a snapshot), and the page
of a thousand public services under a megabyte."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from checks.models import Check, Rollup, State
from statuspage.catalog.models import Service
from statuspage.incidents.models import Incident
from statuspage.web import public_cache
from statuspage.web.public import public_summary
from tests.checks.factories import make_check
from tests.factories import make_team
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db


def _group(html: str, name: str) -> str:
    head = f'<h3 class="group-name">{name}</h3>'
    return (
        html.split(head)[0].rsplit('<li class="group">', 1)[1]
        + html.split(head)[1].split("</details></li>")[0]
    )


def _healthy_world():
    world = build_world()
    Incident.objects.filter(pk=world.active.pk).update(status="resolved")
    Check.objects.update(state=State.UP)
    world.running.status = "completed"
    world.running.save(update_fields=["status"])
    return world


def test_an_operational_group_is_collapsed_and_carries_no_bars(client):
    _healthy_world()
    html = client.get("/status/").content.decode()
    payments = _group(html, "Payments")
    group_id = public_summary().groups[0].id
    assert f'<details class="group-details" data-bars="/status/groups/{group_id}/bars/">' in (
        payments
    )
    assert " open" not in payments.split(">", 1)[0]
    assert "Checkout" in payments and "Payments Worker" in payments  # names and statuses
    assert 'class="bar"' not in payments
    assert '<span class="group-size">2 services</span>' in payments
    assert html.count('<ol class="bar"') == 1  # the ungrouped Search Api only


def test_a_group_that_needs_attention_is_collapsed_too_and_says_how_many(client):
    build_world()  # Checkout in partial outage, Payments Worker under maintenance
    html = client.get("/status/").content.decode()
    payments = _group(html, "Payments")
    assert '<details class="group-details" data-bars=' in payments
    assert 'class="bar"' not in payments
    assert "Partial outage" in payments
    assert '<span class="group-size">2 services, 2 not operational</span>' in payments


def test_the_bars_of_a_group_come_on_demand(client):
    _healthy_world()
    group_id = public_summary().groups[0].id
    response = client.get(f"/status/groups/{group_id}/bars/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=30"
    fragment = response.content.decode()
    assert fragment.startswith('<ul class="component-list">')
    assert re.findall(r'aria-label="([^"]+): uptime per day"', fragment) == [
        "Checkout",
        "Payments Worker",
    ]
    assert fragment.count("<li class=") >= 2 * 90
    assert "99.72% uptime over 90 days" in fragment
    assert "Search Api" not in fragment


@pytest.mark.parametrize("path", ["g0123456789a", "gnothexhere0", "g123", "../x"])
def test_an_unknown_group_is_a_404(client, path):
    build_world()
    assert client.get(f"/status/groups/{path}/bars/").status_code == 404


def test_the_bars_of_a_group_are_served_from_cache(client, django_assert_num_queries):
    _healthy_world()
    url = f"/status/groups/{public_summary().groups[0].id}/bars/"
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


@pytest.mark.postgres
def test_the_bars_of_a_group_come_from_their_snapshot_while_the_database_is_down(
    client,
    break_database,
):
    _healthy_world()
    url = f"/status/groups/{public_summary().groups[0].id}/bars/"
    fresh = client.get(url).content
    client.get("/status/")
    public_cache.local_clear()
    from django.core.cache import cache

    cache.clear()
    break_database()
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Status-Stale"] == "1"
    assert response.content == fresh
    assert client.get("/status/").status_code == 200  # the page's own snapshot


def _thousand_services() -> None:
    team = make_team("fleet")
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    services = Service.objects.bulk_create(
        Service(
            slug=f"svc-{n:04d}",
            name=f"Service {n:04d}",
            team=team,
            is_public=True,
            position=n,
            component_group=f"Group {n % 20:02d}",
            public_description=f"Endpoint number {n} of the fleet",
        )
        for n in range(1000)
    )
    for service in services:
        make_check(service)
    checks = list(Check.objects.filter(service__team=team))
    Check.objects.filter(service__team=team).update(state=State.UP)
    Rollup.objects.bulk_create(
        Rollup(
            check_ref=check,
            period=Rollup.Period.DAY,
            start=today - timedelta(days=days_ago),
            up=1440 - (days_ago % 7 == 0) * (check.pk % 5) * 10,
            down=(days_ago % 7 == 0) * (check.pk % 5) * 10,
        )
        for check in checks
        for days_ago in range(90)
    )


@pytest.mark.postgres
def test_the_page_of_a_thousand_public_services_stays_under_a_megabyte(client):
    _thousand_services()
    html = client.get("/status/").content
    assert len(html) < 1_000_000
    assert html.count(b'<li class="component">') == 1000  # every service named
    assert html.count(b"<details ") == 20
    summary = public_summary()
    bars = client.get(f"/status/groups/{summary.groups[0].id}/bars/").content
    assert bars.count(b'<ol class="bar"') == 50
