"""The service page shows what each location saw when a check runs from several."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checks.models import Outcome
from checks.observations import Observation
from checks.services import results_record
from tests.checks.factories import make_check

pytestmark = pytest.mark.django_db
PAGE = "/services/checkout-api/"


def checks_table(client) -> str:
    html = client.get(PAGE).content.decode()
    return html[html.index('<table class="checks">') : html.index("</table>")]


def seen(check, location: str, outcome: int, slot: int, detail: str = "") -> Observation:
    return Observation(
        check_id=check.pk, slot=slot, checked_at=slot + 0.2, outcome=outcome,
        latency_ms=None if outcome == Outcome.DOWN else 42.0, detail=detail, location=location,
    )  # fmt: skip


def test_a_check_with_several_locations_lists_each_location_result(
    client, viewer, service, settings
):
    settings.CHECK_LOCATIONS = ["fra", "iad", "sin"]
    several = make_check(service, "api", locations=["fra", "iad", "sin"])
    single = make_check(service, "home")
    slot = int(time.time()) - 30
    results_record(
        observations=[
            seen(several, "fra", Outcome.UP, slot),
            seen(several, "iad", Outcome.DOWN, slot, "connection refused"),
            seen(several, "sin", Outcome.UP, slot),
            seen(single, "", Outcome.UP, slot),
        ]
    )
    client.force_login(viewer)

    table = checks_table(client)

    rows = table.split("<tr")
    api = next(row for row in rows if ">api <" in row)
    home = next(row for row in rows if ">home <" in row)
    assert '<ul class="locations"' in api
    assert "<li>fra: up 42" in api
    assert "<li>iad: down (connection refused)</li>" in api
    assert "<li>sin: up 42" in api
    assert "down only from iad: connection refused" in api  # the slot's outcome: up
    assert 'class="locations"' not in home


def test_location_results_cost_one_query_and_none_without_such_checks(
    client, viewer, service, settings
):
    settings.CHECK_LOCATIONS = ["fra", "iad"]
    make_check(service, "home")
    client.force_login(viewer)
    client.get(PAGE)
    with CaptureQueriesContext(connection) as without:
        client.get(PAGE)
    several = make_check(service, "api", locations=["fra", "iad"])
    slot = int(time.time()) - 30
    results_record(
        observations=[
            seen(several, "fra", Outcome.UP, slot),
            seen(several, "iad", Outcome.UP, slot),
        ]
    )
    with CaptureQueriesContext(connection) as with_several:
        client.get(PAGE)

    assert len(with_several) == len(without) + 1
    assert any("checks_result" in q["sql"] for q in with_several)
    assert not any("checks_result" in q["sql"] for q in without)
