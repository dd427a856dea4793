import pytest

from checks.models import Outcome, State
from checks.state import CheckState, state_step


def start(state: str = State.UP, failures: int = 0, successes: int = 0, n: int = 2, m: int = 1):
    return CheckState(state, failures, successes, failures_before_down=n, successes_before_up=m)


def run(current: CheckState, *outcomes: int) -> tuple[CheckState, list[str]]:
    changes = []
    for outcome in outcomes:
        step = state_step(current, outcome, "HTTP 503")
        if step.reason:
            changes.append(f"{current.state}->{step.after.state}")
        current = step.after
    return current, changes


def test_marks_check_down_after_two_failures():
    after, changes = run(start(), Outcome.DOWN, Outcome.DOWN)
    assert after.state == State.DOWN
    assert changes == ["up->down"]


def test_one_failure_is_not_enough_to_go_down():
    after, changes = run(start(), Outcome.DOWN)
    assert after.state == State.UP
    assert after.consecutive_failures == 1
    assert changes == []


def test_a_success_between_failures_resets_the_count():
    after, changes = run(start(), Outcome.DOWN, Outcome.UP, Outcome.DOWN)
    assert after.state == State.UP
    assert changes == []


def test_recovers_after_the_configured_number_of_successes():
    after, changes = run(start(State.DOWN, m=3), Outcome.UP, Outcome.UP)
    assert after.state == State.DOWN
    after, changes = run(after, Outcome.UP)
    assert after.state == State.UP
    assert changes == ["down->up"]


def test_slow_success_is_degraded_at_once_and_back_up_at_once():
    after, changes = run(start(), Outcome.DEGRADED, Outcome.UP)
    assert changes == ["up->degraded", "degraded->up"]
    assert after.state == State.UP


def test_unknown_check_waits_for_confirmation_before_going_down():
    after, changes = run(start(State.UNKNOWN), Outcome.DOWN)
    assert after.state == State.UNKNOWN
    after, changes = run(after, Outcome.DOWN)
    assert (after.state, changes) == (State.DOWN, ["unknown->down"])


def test_unknown_check_is_up_after_its_first_success():
    after, changes = run(start(State.UNKNOWN), Outcome.UP)
    assert (after.state, changes) == (State.UP, ["unknown->up"])


@pytest.mark.parametrize("threshold", [0, 1])
def test_a_threshold_of_zero_or_one_goes_down_on_the_first_failure(threshold):
    after, changes = run(start(n=threshold), Outcome.DOWN)
    assert (after.state, changes) == (State.DOWN, ["up->down"])


def test_transition_reason_names_the_failure():
    step = state_step(start(failures=1), Outcome.DOWN, "connection refused")
    assert step.reason == "2 failure(s) in a row: connection refused"
