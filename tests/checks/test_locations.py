"""Check locations: quorum of per-location results, routing of probes to location queues."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from checks.admin_forms import CheckForm
from checks.gaps import gap_horizon, gaps_record
from checks.locations import location_queue, quorum_needed
from checks.models import Check, Outcome, Result, State, Transition
from checks.observations import Observation
from checks.rollups import rollups_refresh
from checks.scheduling import Claim, as_datetime, checks_claim_due, slot_at_or_before
from checks.services import results_record
from checks.tasks import probe_batches, probe_batches_send
from statuspage.celery import app
from tests.checks.factories import make_check
from tests.checks.worlds import check_form_data, one_check_catalog, put_check, sync, write

SLOT = 1_800_000_000


@pytest.fixture
def three_locations(settings):
    settings.CHECK_LOCATIONS = ["eu", "us", "ap"]
    settings.CHECK_QUORUM = 0


def seen(
    check: Check, location: str, outcome: int, slot: int = SLOT, detail: str = ""
) -> Observation:
    return Observation(
        check_id=check.pk,
        slot=slot,
        checked_at=slot + 0.5,
        outcome=outcome,
        latency_ms=None if outcome == Outcome.DOWN else 40.0,
        detail=detail or ("connection refused" if outcome == Outcome.DOWN else "200 OK"),
        location=location,
    )


def decided(check: Check) -> list[tuple[int, int]]:
    rows = Result.objects.filter(check_ref=check, location="").order_by("slot")
    return list(rows.values_list("slot", "outcome"))


@pytest.mark.django_db
def test_two_of_three_locations_down_make_the_check_down(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"], failures_before_down=1)
    results_record(observations=[seen(check, "eu", Outcome.DOWN)])
    assert decided(check) == []  # one location alone decides nothing
    results_record(observations=[seen(check, "us", Outcome.DOWN)])
    check.refresh_from_db()
    assert check.state == State.DOWN
    assert decided(check) == [(SLOT, Outcome.DOWN)]
    assert check.last_detail.startswith("down from 2 of 3 locations: eu: connection refused")
    assert Transition.objects.get(check_ref=check).slot == SLOT


@pytest.mark.django_db
def test_one_of_three_locations_down_leaves_the_check_up(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"], failures_before_down=1)
    results_record(observations=[seen(check, "eu", Outcome.DOWN), seen(check, "us", Outcome.UP)])
    assert decided(check) == []  # 1 down, 1 up: the third location could still tip it
    results_record(observations=[seen(check, "ap", Outcome.UP)])
    check.refresh_from_db()
    assert check.state == State.UP
    assert decided(check) == [(SLOT, Outcome.UP)]
    assert check.last_detail == "up from 2 of 3 locations; down only from eu: connection refused"


@pytest.mark.django_db
def test_a_late_location_changes_nothing_once_the_slot_is_decided(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"], failures_before_down=1)
    results_record(observations=[seen(check, "eu", Outcome.DOWN), seen(check, "us", Outcome.DOWN)])
    summary = results_record(observations=[seen(check, "ap", Outcome.UP)])
    again = results_record(observations=[seen(check, "us", Outcome.DOWN)])
    assert (summary.inserted, summary.transitions) == (1, 0)
    assert (again.inserted, again.transitions) == (0, 0)
    assert decided(check) == [(SLOT, Outcome.DOWN)]
    assert Transition.objects.filter(check_ref=check).count() == 1
    assert Result.objects.filter(check_ref=check).count() == 4  # three locations + outcome


@pytest.mark.django_db
def test_quorum_comes_from_the_check_then_the_setting(service, settings, three_locations):
    assert quorum_needed(locations=3) == 2
    assert quorum_needed(locations=2) == 2
    assert quorum_needed(locations=3, override=1) == 1
    settings.CHECK_QUORUM = 3
    assert quorum_needed(locations=3) == 3
    assert quorum_needed(locations=2) == 2  # never more than the check's locations
    check = make_check(service, locations=["eu", "us", "ap"], quorum=1, failures_before_down=1)
    results_record(observations=[seen(check, "ap", Outcome.DOWN)])
    check.refresh_from_db()
    assert check.state == State.DOWN


@pytest.mark.django_db
def test_rollups_count_the_slot_outcome_not_each_location(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"])
    slot = int(time.time()) - 120
    results_record(
        observations=[
            seen(check, "eu", Outcome.DOWN, slot=slot),
            seen(check, "us", Outcome.UP, slot=slot),
            seen(check, "ap", Outcome.UP, slot=slot),
        ]
    )
    rollups_refresh(now=as_datetime(slot + 60))
    hour = check.rollups.get(period="hour")
    assert (hour.up, hour.down) == (1, 0)


@pytest.mark.django_db
def test_a_single_location_check_records_its_slot_as_before(service, three_locations):
    check = make_check(service, failures_before_down=1)
    results_record(observations=[seen(check, "", Outcome.DOWN)])
    check.refresh_from_db()
    assert check.state == State.DOWN
    assert list(Result.objects.filter(check_ref=check).values_list("location", flat=True)) == [""]


@pytest.mark.django_db
def test_definitions_refuse_unknown_locations_and_a_quorum_above_them(service, three_locations):
    check = Check(service=service, name="x", config={"url": "http://127.0.0.1:9/"})
    check.locations = ["eu", "mars"]
    with pytest.raises(ValidationError) as caught:
        check.full_clean()
    assert "unknown location(s) mars: use one of eu, us, ap" in str(caught.value)
    check.locations, check.quorum = ["eu", "us"], 3
    with pytest.raises(ValidationError, match="between 1 and the number of locations"):
        check.full_clean()
    check.locations = "eu"
    with pytest.raises(ValidationError, match="must be a list of location names"):
        check.full_clean()
    check.kind, check.config, check.locations, check.quorum = "heartbeat", {}, ["eu"], None
    with pytest.raises(ValidationError, match="heartbeat checks are not probed"):
        check.full_clean()


@pytest.mark.django_db
def test_each_location_gets_its_own_batch_on_its_own_queue(service, three_locations):
    several = make_check(service, "several", locations=["us", "ap"])
    one = make_check(service, "one", locations=["ap"])
    default = make_check(service, "default")
    claims = [
        Claim(several.pk, SLOT, ("us", "ap")),
        Claim(one.pk, SLOT, ("ap",)),
        Claim(default.pk, SLOT, ()),
    ]
    batches = {(queue, location): [c.check_id for c in batch] for queue, location, batch in
               probe_batches(claims)}  # fmt: skip
    assert batches == {
        ("probes.us", "us"): [several.pk],
        ("probes.ap", "ap"): [several.pk],
        ("probes.ap", ""): [one.pk],  # one location: its result is the slot's outcome
        ("probes", ""): [default.pk],  # eu, the default location, keeps the probes queue
    }
    assert location_queue("eu") == "probes"


@pytest.mark.django_db
def test_claims_carry_the_check_locations(service, three_locations):
    check = make_check(service, locations=["us", "ap"])
    Check.objects.update(next_due_at=as_datetime(time.time() - 1))
    (claim,) = checks_claim_due()
    assert (claim.check_id, claim.locations) == (check.pk, ("us", "ap"))


def _queued(name: str) -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=name).message_count


def _purge(*names: str) -> None:
    with app.connection_for_write() as conn:
        for name in names:
            conn.default_channel.queue_declare(queue=name)
            conn.default_channel.queue_purge(name)


@pytest.mark.django_db
def test_a_probe_for_one_location_lands_in_that_location_queue_only(service, three_locations):
    queues = ("probes", "probes.us", "probes.ap", "celery")
    _purge(*queues)
    check = make_check(service, locations=["us"])
    try:
        probe_batches_send(probe_batches([Claim(check.pk, SLOT, ("us",))]))
        assert {name: _queued(name) for name in queues} == {
            "probes": 0,
            "probes.us": 1,
            "probes.ap": 0,
            "celery": 0,
        }
    finally:
        _purge(*queues)


UNKNOWN = "unknown location(s) mars: use one of eu, us, ap (setting CHECK_LOCATIONS)"


@pytest.mark.django_db
def test_the_file_the_api_and_the_admin_take_locations_alike(
    client, service, tmp_path, three_locations
):
    url = "url: http://127.0.0.1:9/health"
    path = write(tmp_path, one_check_catalog(service, "file", f"kind: http\n{url}\n"
                                             "locations: [eu, us]\nquorum: 1"))  # fmt: skip
    sync(path)
    status, answer = put_check(
        client, service, "api", {"kind": "http", "config": {"url": "http://127.0.0.1:9/"},
                                 "locations": ["us", "ap"]},
    )  # fmt: skip
    assert status == 201 and answer["locations"] == ["us", "ap"]
    form = CheckForm(
        data=check_form_data("admin", "http", http_url="http://127.0.0.1:9/", locations="ap, eu"),
        instance=Check(service=service),
    )
    assert form.is_valid(), form.errors
    form.save()
    stored = dict(Check.objects.values_list("name", "locations"))
    assert stored == {"file": ["eu", "us"], "api": ["us", "ap"], "admin": ["ap", "eu"]}
    assert Check.objects.get(name="file").quorum == 1


@pytest.mark.django_db
def test_the_file_the_api_and_the_admin_refuse_an_unknown_location_alike(
    client, service, tmp_path, three_locations
):
    path = write(tmp_path, one_check_catalog(service, "file", "kind: heartbeat\n"
                                             "locations: [eu, mars]"))  # fmt: skip
    with pytest.raises(CommandError) as raised:
        sync(path)
    assert f"services[0].checks[0].locations: {UNKNOWN}" in str(raised.value)
    status, answer = put_check(client, service, "api", {"kind": "heartbeat",
                                                         "locations": ["mars"]})  # fmt: skip
    assert status == 422
    assert [e["message"] for e in answer["errors"] if e["field"] == "locations"] == [UNKNOWN]
    form = CheckForm(
        data=check_form_data("admin", "heartbeat", locations="mars"),
        instance=Check(service=service),
    )
    assert not form.is_valid()
    assert form.errors["locations"] == [UNKNOWN]


@pytest.mark.django_db
def test_the_gap_sweep_settles_a_slot_a_silent_location_left_undecided(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"], failures_before_down=1)
    now = time.time()
    Check.objects.filter(pk=check.pk).update(state=State.DOWN, created_at=as_datetime(now - 900))
    up_slot = slot_at_or_before(check_id=check.pk, interval_s=60, t=gap_horizon(now) - 60)
    down_slot = up_slot - 60
    results_record(
        observations=[
            # ap never reports: 1 down and 1 up decide nothing while it still might.
            seen(check, "eu", Outcome.DOWN, slot=up_slot),
            seen(check, "us", Outcome.UP, slot=up_slot),
            # A failure alone, fewer than the quorum, is not an outage either.
            seen(check, "eu", Outcome.DOWN, slot=down_slot),
        ]
    )
    assert decided(check) == []
    gaps_record(now=now)
    outcomes = dict(decided(check))
    assert outcomes[up_slot] == Outcome.UP
    assert outcomes[down_slot] == Outcome.SKIPPED
    check.refresh_from_db()
    assert check.state == State.UP
    assert check.last_slot == up_slot
    assert Transition.objects.get(check_ref=check).slot == up_slot


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_locations_reporting_at_once_still_decide_every_slot(service, three_locations):
    check = make_check(service, locations=["eu", "us", "ap"], failures_before_down=1)
    slots = [SLOT + 60 * n for n in range(20)]
    barrier = threading.Barrier(2)

    def report(location: str) -> None:
        try:
            for slot in slots:
                barrier.wait(timeout=10)
                results_record(observations=[seen(check, location, Outcome.DOWN, slot=slot)])
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(name,)) for name in ("eu", "us")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever transaction came second saw the first one's report: no slot left waiting.
    assert decided(check) == [(slot, Outcome.DOWN) for slot in slots]
    assert Transition.objects.filter(check_ref=check).count() == 1


@pytest.mark.django_db
def test_run_check_records_no_outcome_for_a_check_with_several_locations(service, three_locations):
    check = make_check(service, locations=["eu", "us"])
    with pytest.raises(CommandError, match=r"runs from several locations \(eu, us\)"):
        call_command("run_check", str(check.pk), "--record")
    assert not Result.objects.filter(check_ref=check).exists()
