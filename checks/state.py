"""The per-check state machine, as a pure function of the current state and one result.

- A success (up or degraded) after ``successes_before_up`` in a row brings a down or
  unknown check back; between up and degraded the latest result decides at once.
- ``failures_before_down`` failures in a row make a check down; fewer leave it as it was
  (an unknown check stays unknown until it is confirmed either way).
- Paused checks are not probed, so no result reaches them here.
"""

from dataclasses import dataclass, replace

from checks.models import Outcome, State

_OUTCOME_STATE = {Outcome.UP: State.UP, Outcome.DEGRADED: State.DEGRADED}


@dataclass(frozen=True)
class CheckState:
    state: str
    consecutive_failures: int
    consecutive_successes: int
    failures_before_down: int
    successes_before_up: int


@dataclass(frozen=True)
class Step:
    after: CheckState
    # Set when the state changed: the reason stored with the transition.
    reason: str | None


def state_step(current: CheckState, outcome: int, detail: str) -> Step:
    if outcome == Outcome.DOWN:
        after = replace(
            current,
            consecutive_failures=current.consecutive_failures + 1,
            consecutive_successes=0,
        )
        if current.state != State.DOWN and after.consecutive_failures >= max(
            1, current.failures_before_down
        ):
            reason = f"{after.consecutive_failures} failure(s) in a row: {detail}".strip()
            return Step(replace(after, state=State.DOWN), reason[:500])
        return Step(after, None)

    after = replace(
        current,
        consecutive_successes=current.consecutive_successes + 1,
        consecutive_failures=0,
    )
    target = _OUTCOME_STATE[Outcome(outcome)]
    if current.state in (State.DOWN, State.UNKNOWN, State.PAUSED):
        if after.consecutive_successes < max(1, current.successes_before_up):
            return Step(after, None)
        reason = f"{after.consecutive_successes} success(es) in a row"
        if target == State.DEGRADED:
            reason += f": {detail}"
        return Step(replace(after, state=target), reason[:500])
    if current.state != target:
        reason = detail if target == State.DEGRADED else "latency back under its threshold"
        return Step(replace(after, state=target), (reason or target)[:500])
    return Step(after, None)
