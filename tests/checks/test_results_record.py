import pytest

from checks.models import Check, Outcome, Result, State, Transition
from checks.services import Observation, results_record
from tests.checks.factories import make_check

T0 = 1_796_000_000  # a fixed epoch second (2026-11-29)


def obs(check: Check, slot: int, outcome: int = Outcome.UP, **kw) -> Observation:
    return Observation(check_id=check.pk, slot=slot, checked_at=slot + 0.2, outcome=outcome, **kw)


@pytest.mark.django_db
def test_stores_one_result_per_slot_even_when_recorded_twice(service):
    check = make_check(service)
    first = results_record(observations=[obs(check, T0), obs(check, T0 + 60)])
    again = results_record(observations=[obs(check, T0), obs(check, T0 + 60)])
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (0, 2)
    assert Result.objects.filter(check_ref=check).count() == 2


@pytest.mark.django_db
def test_duplicate_slot_causes_no_second_transition(service):
    check = make_check(service, failures_before_down=1)
    results_record(observations=[obs(check, T0, Outcome.UP)])
    down = [obs(check, T0 + 60, Outcome.DOWN, detail="HTTP 500")]
    assert results_record(observations=down).transitions == 1
    assert results_record(observations=down).transitions == 0
    check.refresh_from_db()
    assert check.state == State.DOWN
    assert check.consecutive_failures == 1
    assert list(Transition.objects.values_list("from_state", "to_state")) == [
        ("up", "down"),
        ("unknown", "up"),
    ]


@pytest.mark.django_db
def test_records_last_result_and_transition_reason(service):
    check = make_check(service)
    results_record(
        observations=[
            obs(check, T0, Outcome.DOWN, status_code=503, detail="HTTP 503 (expected 200)"),
            obs(check, T0 + 60, Outcome.DOWN, status_code=503, detail="HTTP 503 (expected 200)"),
        ]
    )
    check.refresh_from_db()
    assert check.state == State.DOWN
    assert check.last_slot == T0 + 60
    assert check.last_outcome == Outcome.DOWN
    assert check.last_detail == "HTTP 503 (expected 200)"
    transition = Transition.objects.get()
    assert transition.reason == "2 failure(s) in a row: HTTP 503 (expected 200)"
    assert transition.slot == T0 + 60
    assert check.state_changed_at == transition.at


@pytest.mark.django_db
def test_a_late_older_result_is_stored_but_does_not_move_the_state(service):
    check = make_check(service, failures_before_down=1)
    results_record(observations=[obs(check, T0 + 60, Outcome.UP)])
    summary = results_record(observations=[obs(check, T0, Outcome.DOWN)])
    assert summary.inserted == 1
    check.refresh_from_db()
    assert check.state == State.UP
    assert check.last_slot == T0 + 60


@pytest.mark.django_db
def test_results_of_several_checks_in_one_batch(service):
    a = make_check(service, "a", failures_before_down=1)
    b = make_check(service, "b", failures_before_down=1)
    summary = results_record(observations=[obs(a, T0, Outcome.DOWN), obs(b, T0, Outcome.UP)])
    assert (summary.inserted, summary.transitions) == (2, 2)
    states = dict(Check.objects.values_list("name", "state"))
    assert states == {"a": State.DOWN, "b": State.UP}


@pytest.mark.django_db
def test_empty_batch_writes_nothing(service):
    assert results_record(observations=[]).received == 0
    assert Result.objects.count() == 0
