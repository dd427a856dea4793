"""One day boundary: in a page time zone other than UTC, an incident and the downtime it
caused sit on the same day in the uptime bars, the history and the JSON."""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from checks.models import Outcome, Rollup
from checks.rollups import rollup_day_compute, rollup_hour_compute, rollups_days_rebuild
from checks.services import Observation, results_record
from statuspage.core.days import day_end, day_of, day_start
from statuspage.incidents.models import ComponentStatus, Impact, Incident, IncidentStatus
from statuspage.incidents.services import incident_open
from statuspage.web.public import public_summary
from tests.checks.factories import make_check
from tests.factories import make_service

# Each outage is on a local day other than its UTC day: 21:00 in New York is 02:00 UTC the
# next day, 02:00 in Kolkata is 20:30 UTC the day before.
CASES = {
    "America/New_York": (datetime(2026, 11, 24, 2, 0, tzinfo=UTC), date(2026, 11, 23)),
    "Asia/Kolkata": (datetime(2026, 11, 23, 20, 30, tzinfo=UTC), date(2026, 11, 24)),
}
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(params=sorted(CASES))
def zone(request, settings):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": request.param}
    return request.param


def _outage(service, at: datetime) -> None:
    """Ten failed results from ``at``, rolled up by the engine, and the incident for them."""
    check = make_check(service)
    base = int(at.timestamp())
    results_record(
        observations=[
            Observation(check.pk, base + 60 * i, base + 60 * i + 0.1, Outcome.DOWN, None)
            for i in range(10)
        ]
    )
    rollup_hour_compute(start=at)
    rollup_day_compute(start=at)
    incident = incident_open(
        title="Checkout down",
        impact=Impact.MAJOR,
        affected={service: ComponentStatus.MAJOR_OUTAGE},
        body="Checkout fails.",
        status=IncidentStatus.RESOLVED,
        publish=True,
        by=None,
        started_at=at,
    )
    Incident.objects.filter(pk=incident.pk).update(resolved_at=at + timedelta(minutes=10))


@pytest.mark.django_db
def test_an_incident_and_its_downtime_share_a_day_in_bars_history_and_json(zone, team):
    at, local_day = CASES[zone]
    service = make_service("checkout-api", team=team, is_public=True)
    _outage(service, at)

    daily = Rollup.objects.get(period=Rollup.Period.DAY)
    assert daily.start == day_start(local_day)
    assert daily.down == 10

    summary = public_summary(now=NOW)
    [component] = summary.components
    down_days = [cell.day for cell in component.days if cell.counted]
    marked_days = [cell.day for cell in component.days if cell.incidents]
    history_days = [h.day for h in summary.history if h.incidents]
    assert down_days == marked_days == history_days == [local_day]

    body = json.loads(Client().get("/api/v2/incidents.json").content)
    [incident] = body["incidents"]
    assert date.fromisoformat(incident["started_at"][:10]) == local_day


@pytest.mark.django_db
def test_a_day_across_a_dst_change_sums_all_its_hours(settings, team):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "America/New_York"}
    service = make_service("checkout-api", team=team, is_public=True)
    check = make_check(service)
    changed = date(2026, 11, 1)  # 25 hours long in New York
    start, end = day_start(changed), day_end(changed)
    assert end - start == timedelta(hours=25)
    hour = start
    while hour < end:
        slot = int(hour.timestamp())
        results_record(observations=[Observation(check.pk, slot, slot + 0.1, Outcome.UP, 5.0)])
        rollup_hour_compute(start=hour)
        hour += timedelta(hours=1)
    rollup_day_compute(start=start)
    [daily] = Rollup.objects.filter(period=Rollup.Period.DAY)
    assert (daily.start, daily.up) == (start, 25)


@pytest.mark.django_db
def test_rebuilding_the_days_moves_rollups_to_a_new_time_zone(settings, team):
    service = make_service("checkout-api", team=team, is_public=True)
    at, local_day = CASES["America/New_York"]
    _outage(service, at)
    assert Rollup.objects.get(period=Rollup.Period.DAY).start == at.replace(hour=0)

    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "America/New_York"}
    assert rollups_days_rebuild(now=NOW) == 1
    assert rollups_days_rebuild(now=NOW) == 1
    [daily] = Rollup.objects.filter(period=Rollup.Period.DAY)
    assert (daily.start, daily.down) == (day_start(local_day), 10)
    assert day_of(daily.start) == local_day
    [component] = public_summary(now=NOW).components
    assert [cell.day for cell in component.days if cell.counted] == [local_day]


@pytest.mark.django_db
def test_the_rebuild_command_says_how_many_days_it_rebuilt(settings, team):
    settings.STATUS_PAGE = {**settings.STATUS_PAGE, "time_zone": "Asia/Kolkata"}
    out = StringIO()
    call_command("rollups_rebuild_days", stdout=out)
    assert out.getvalue() == "Rebuilt the daily rollups of 0 days (Asia/Kolkata).\n"
