"""The team page shows what each location saw when a check runs from several."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checks.models import Check, Outcome
from checks.observations import Observation
from checks.services import results_record
from statuspage.catalog.models import Service
from tests.checks.factories import make_check
from tests.factories import make_service
from tests.web.team_worlds import row_of

pytestmark = pytest.mark.django_db
LOCATIONS = ["fra", "iad", "sin"]


@pytest.fixture(autouse=True)
def locations(settings):
    settings.CHECK_LOCATIONS = LOCATIONS


def seen(check: Check, location: str, outcome: int, slot: int, detail: str = "") -> Observation:
    return Observation(
        check_id=check.pk, slot=slot, checked_at=slot + 0.2, outcome=outcome,
        latency_ms=None if outcome == Outcome.DOWN else 42.0, detail=detail, location=location,
    )  # fmt: skip


def record(check: Check, outcomes: dict[str, int], *, slot: int, detail: str = "") -> None:
    results_record(
        observations=[
            seen(check, name, outcome, slot, detail if outcome == Outcome.DOWN else "")
            for name, outcome in outcomes.items()
        ]
    )


def page(client) -> str:
    return client.get("/").content.decode()


def test_a_row_lists_what_each_location_saw_of_the_last_slot(client, viewer, service):
    api = make_check(service, "api", locations=LOCATIONS)
    slot = int(time.time()) - 30
    record(
        api,
        {"fra": Outcome.UP, "iad": Outcome.DOWN, "sin": Outcome.UP},
        slot=slot,
        detail="connection refused",
    )
    client.force_login(viewer)

    row = row_of(page(client), service.slug)

    assert '<ul class="locations" aria-label="api, last result by location">' in row
    items = row[row.index('<ul class="locations"') : row.index("</ul>")].split("<li>")[1:]
    assert [item.split("</span>")[0] for item in items] == [
        '<span class="location">fra',
        '<span class="location">iad',
        '<span class="location">sin',
    ]
    assert "Up" in items[0] and "42 ms" in items[0]
    assert "Down" in items[1] and "connection refused" in items[1]
    # One location down of three is not an outage: the row's status stays operational.
    assert row.index("Operational") < row.index('<ul class="locations"')


def test_a_service_without_such_checks_shows_no_locations(client, viewer, service):
    home = make_check(service, "home")
    results_record(observations=[seen(home, "", Outcome.UP, int(time.time()) - 30)])
    client.force_login(viewer)

    assert "locations" not in row_of(page(client), service.slug)


def test_a_check_with_several_locations_and_no_results_yet_says_so(client, viewer, service):
    make_check(service, "api", locations=LOCATIONS)
    client.force_login(viewer)

    row = row_of(page(client), service.slug)

    assert '<p class="locations locations-empty">no results from its 3 locations yet</p>' in row
    assert "<ul" not in row


def test_a_location_that_sent_nothing_for_the_slot_is_named(client, viewer, service):
    api = make_check(service, "api", locations=LOCATIONS)
    record(api, {"fra": Outcome.UP, "sin": Outcome.UP}, slot=int(time.time()) - 30)
    client.force_login(viewer)

    row = row_of(page(client), service.slug)

    assert '<span class="location">iad</span> <span class="muted">no result</span>' in row


def test_each_check_is_named_when_a_service_has_several_and_paused_ones_are_left_out(
    client, viewer, service
):
    slot = int(time.time()) - 30
    for name in ("web", "api"):
        check = make_check(service, name, locations=["fra", "iad"])
        record(check, {"fra": Outcome.UP, "iad": Outcome.UP}, slot=slot)
    make_check(service, "old", locations=["fra", "iad"], is_paused=True)
    client.force_login(viewer)

    row = row_of(page(client), service.slug)

    assert row.index('<span class="locations-check">api</span>') < row.index(
        '<span class="locations-check">web</span>'
    )
    assert 'aria-label="web, last result by location"' in row
    assert "old" not in row


def test_location_names_and_details_are_escaped(client, viewer, service):
    api = make_check(service, "<b>api</b>", locations=["fra", "iad"])
    record(api, {"fra": Outcome.UP, "iad": Outcome.DOWN}, slot=int(time.time()) - 30, detail="<i>x")
    client.force_login(viewer)

    row = row_of(page(client), service.slug)

    assert "&lt;i&gt;x" in row and "<i>x" not in row
    assert 'aria-label="&lt;b&gt;api&lt;/b&gt;, last result by location"' in row


def services_with_locations(team, count: int, *, prefix: str) -> list[Service]:
    slot = int(time.time()) - 30
    services = []
    for i in range(count):
        service = make_service(f"{prefix}-{i:03d}", team=team)
        check = make_check(service, "api", locations=LOCATIONS)
        record(check, {"fra": Outcome.UP, "iad": Outcome.UP, "sin": Outcome.DOWN}, slot=slot)
        services.append(service)
    return services


def test_location_results_cost_one_query_for_the_whole_page_and_none_without_them(
    client, viewer, team
):
    plain = make_service("plain", team=team)
    make_check(plain, "home")
    client.force_login(viewer)
    page(client)  # warm: session and user caches are not what is measured
    with CaptureQueriesContext(connection) as without:
        page(client)
    services_with_locations(team, 3, prefix="few")
    with CaptureQueriesContext(connection) as few:
        few_html = page(client)
    services_with_locations(team, 30, prefix="many")
    with CaptureQueriesContext(connection) as many:
        many_html = page(client)

    assert few_html.count('<ul class="locations"') == 3
    assert many_html.count('<ul class="locations"') == 33
    assert len(few) == len(many) == len(without) + 1
    assert not any("checks_result" in q["sql"] for q in without)
