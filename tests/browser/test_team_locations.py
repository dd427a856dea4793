"""The team page in a real browser shows what each location saw of a check run from several:
read by role and name, keyboard order unchanged, axe-clean, an empty state, and refreshed
in place when a new slot comes in."""

import re
import time

import pytest
from playwright.sync_api import expect

from checks.models import Outcome
from checks.observations import Observation
from checks.services import results_record
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)
LOCATIONS = ["fra", "iad", "sin"]


def record(check, outcomes: dict[str, int], slot: int) -> None:
    results_record(
        observations=[
            Observation(
                check_id=check.pk,
                slot=slot,
                checked_at=slot + 0.2,
                outcome=outcome,
                latency_ms=None if outcome == Outcome.DOWN else 42.0,
                detail="connection refused" if outcome == Outcome.DOWN else "",
                location=name,
            )
            for name, outcome in outcomes.items()
        ]
    )


def row(page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(name)))


def test_a_row_shows_each_location_and_refreshes_in_place(
    desktop, live_server, sign_in, settings, axe_serious, console_errors
):
    settings.CHECK_LOCATIONS = LOCATIONS
    team = make_team("edge")
    edge = make_service("edge-api", team=team)
    api = make_check(edge, "api", locations=LOCATIONS)
    slot = int(time.time()) - 30
    record(api, {"fra": Outcome.UP, "iad": Outcome.DOWN, "sin": Outcome.UP}, slot)
    fresh = make_service("batch-api", team=team)
    make_check(fresh, "api", locations=["fra", "iad"])
    page = desktop
    sign_in(page, make_user("vic"))

    edge_row = row(page, "Edge Api")
    seen = edge_row.get_by_role("list", name="api, last result by location")
    expect(seen.get_by_role("listitem")).to_have_text(
        [
            re.compile(r"^fra\s+Up\s+42 ms$"),
            re.compile(r"^iad\s+Down\s+connection refused$"),
            re.compile(r"^sin\s+Up\s+42 ms$"),
        ]
    )
    # One location of three down is not an outage.
    expect(edge_row.locator(".status-cell .badge").first).to_have_text("Operational")
    expect(row(page, "Batch Api").locator(".locations-empty")).to_have_text(
        "no results from its 2 locations yet"
    )
    assert axe_serious(page) == []

    # The list adds no stop to the keyboard order: from a service's link the next is its owner.
    page.focus("#svc-edge-api")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "team-edge-api"

    page.evaluate("window.notReloaded = true")
    record(api, {"fra": Outcome.UP, "iad": Outcome.UP, "sin": Outcome.UP}, slot + 60)
    expect(seen.get_by_role("listitem").nth(1)).to_have_text(
        re.compile(r"^iad\s+Up\s+42 ms$"), timeout=20_000
    )
    assert page.evaluate("window.notReloaded") is True
    assert console_errors == []
