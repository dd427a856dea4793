"""Faults on the production shape, each recovered from without a human.

One stack (tests/faults/stack.py) runs through the cases in order; the last test checks the
whole run: every slot of every check has exactly one result, measured or recorded as a gap.
"""

import os
import signal
import time

import pytest

from tests.faults.stack import (
    CHECKS,
    GAP_SWEEP_S,
    INTERVAL_S,
    MAX_LATENESS_S,
    batch_duplicates,
    wait_until,
)

pytestmark = [pytest.mark.faults]

TWO_BEATS_S = 45
POSTGRES_DOWN_S = 45


def assert_core_alive(stack) -> None:
    for name in ("worker", "beat", "web"):
        assert stack.processes[name].alive(), (
            f"{name} exited:\n{stack.processes[name].text()[-3000:]}"
        )
    assert stack.web_get("/health")[0] == 200


def test_stack_measures_every_check(stack):
    stack.wait_recovered(stack.started_at - INTERVAL_S, timeout=90)
    assert_core_alive(stack)


def test_two_beats_at_once_still_claim_each_slot_once(stack):
    worker_log = stack.processes["worker"]
    before_text = worker_log.text()
    hits_before = stack.target_hits()
    second = stack.start_beat("beat-2")
    started = time.time()
    try:
        wait_until(lambda: "task=checks.dispatch_due" in second.text(), timeout=30,
                   what="second beat running ticks")  # fmt: skip
        time.sleep(max(0.0, TWO_BEATS_S - (time.time() - started)))
    finally:
        second.stop()
    ended = time.time()
    time.sleep(3)  # batches queued by the last ticks finish
    new_lines = worker_log.text()[len(before_text) :]
    duplicates = batch_duplicates(new_lines)
    assert duplicates, "no batch ran while two beats were running"
    assert sum(duplicates) == 0  # no slot was probed twice
    sent = second.text().count("task=checks.dispatch_due")
    # The second beat really was claiming. How many slots each got depends on the phase
    # of their ticks within the second (the first to reach a slot's lead takes it): the
    # second may take all, some or none, and no slot twice.
    assert sent >= TWO_BEATS_S // 2
    # Each check is probed once per interval, not twice: hits follow the slot count.
    hits = stack.target_hits() - hits_before
    expected = CHECKS * (ended - started) / INTERVAL_S
    assert 0.8 * expected <= hits <= 1.1 * expected + CHECKS
    assert stack.duplicates() == {"results": 0, "transitions": 0}
    assert_core_alive(stack)


def test_redis_restart_under_load_keeps_the_worker_running(stack):
    worker = stack.processes["worker"]
    # Under load: wait until a batch has just been received by the worker.
    mark = len(worker.text())
    wait_until(lambda: "checks.probe_batch" in worker.text()[mark:], timeout=20,
               what="a batch in flight")  # fmt: skip
    stack.redis.restart(down_s=1.0)
    restarted = time.time()
    stack.wait_recovered(restarted)
    assert "Unrecoverable error" not in worker.text()
    assert_core_alive(stack)
    assert stack.duplicates() == {"results": 0, "transitions": 0}


def test_killed_worker_child_batch_is_redelivered_and_recorded_once(stack):
    worker = stack.processes["worker"]
    mark = len(worker.text())
    (child, *_) = worker.children()
    os.kill(child, signal.SIGKILL)
    killed = time.time()
    wait_until(lambda: "exited with 'signal 9 (SIGKILL)'" in worker.text()[mark:]
               or "WorkerLostError" in worker.text()[mark:], timeout=30,
               what="the worker noticing its lost child")  # fmt: skip
    stack.wait_recovered(killed)
    assert_core_alive(stack)
    assert stack.duplicates() == {"results": 0, "transitions": 0}


def test_whole_worker_killed_loses_nothing_once_a_new_one_starts(stack):
    worker = stack.processes["worker"]
    worker.kill_group(signal.SIGKILL)  # main process and children, batches unacked
    worker.popen.wait(timeout=10)
    time.sleep(3)
    # What a process supervisor (compose's restart policy, systemd) does.
    stack.start_worker()
    restarted = time.time()
    stack.wait_recovered(restarted, timeout=90)
    assert_core_alive(stack)
    assert stack.duplicates() == {"results": 0, "transitions": 0}


def test_postgres_stopped_then_back_recovers_by_itself(stack):
    stack.pg.stop()
    stopped = time.time()
    while time.time() - stopped < POSTGRES_DOWN_S:
        for name in ("worker", "beat"):
            assert stack.processes[name].alive(), f"{name} exited while PostgreSQL was down"
        time.sleep(1)
    stack.pg.start()
    back = time.time()
    stack.wait_recovered(back, timeout=60)
    assert_core_alive(stack)
    assert stack.duplicates() == {"results": 0, "transitions": 0}


def test_every_slot_of_the_run_has_one_result_or_a_gap(stack):
    """Nothing lost: each fault's missing slots were measured late-free or recorded as gaps."""
    end = time.time() - 2 * MAX_LATENESS_S - INTERVAL_S
    start = stack.started_at + INTERVAL_S
    wait_until(lambda: not stack.missing_slots(start, end), timeout=4 * GAP_SWEEP_S + 10,
               what="every slot measured or recorded as a gap", quiet=True)  # fmt: skip
    missing = stack.missing_slots(start, end)
    assert not missing, f"{len(missing)} slots without a result, first: {missing[:10]}"
    gaps = stack.query("SELECT COUNT(*) FROM checks_result WHERE outcome = 4")[0][0]
    measured = stack.query("SELECT COUNT(*) FROM checks_result WHERE outcome <> 4")[0][0]
    assert gaps > 0  # the faults did cost slots, and they are on record
    assert measured > gaps
    assert stack.duplicates() == {"results": 0, "transitions": 0}
