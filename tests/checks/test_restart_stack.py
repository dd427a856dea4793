"""A real worker and beat stopped for longer than an interval, then started again: the stop
is recorded as gaps, nothing of it is probed, and every check is back on its next slot."""

import math
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db.models import Min

from checks.gaps import gaps_record
from checks.models import Outcome, Result, State, Transition
from checks.scheduling import slot_after
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worker import celery_beat, celery_worker, wait_until
from tests.checks.worlds import health_app

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# The interval is well above the stack's start-up, so that on restart most checks' latest
# slot lies inside the stop: without the skip, the first tick would probe it.
INTERVAL_S = 20
STOP_S = 45
CHECKS = 12
# A lateness of several intervals: a replayed slot of the stop would be probed, not skipped.
MAX_LATENESS_S = 3 * INTERVAL_S
ENV = {"DISPATCH_TICK_S": "1", "PROBE_MAX_LATENESS_S": str(MAX_LATENESS_S)}


@contextmanager
def stack(var_dir: Path):
    # Beat first: its start-up then overlaps the worker's. At the stop the worker goes
    # first and beat claims on for a moment: batches no worker takes until the restart.
    with celery_beat(var_dir, env=ENV), celery_worker(env=ENV, name="restart") as worker:
        yield worker


def real(ids: list[int]):
    return Result.objects.filter(check_ref__in=ids).exclude(outcome=Outcome.SKIPPED)


def slots_between(ids: list[int], start: int, end: int) -> set[tuple[int, int]]:
    """Every (check, slot) scheduled in [start, end)."""
    found = set()
    for check_id in ids:
        slot = slot_after(check_id=check_id, interval_s=INTERVAL_S, t=start - 1)
        while slot < end:
            found.add((check_id, slot))
            slot += INTERVAL_S
    return found


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_and_beat_come_back_on_schedule_with_the_stop_as_a_gap(
    service, tmp_path, settings
):
    settings.PROBE_MAX_LATENESS_S = MAX_LATENESS_S
    with serving_app(health_app()) as port:
        url = f"http://127.0.0.1:{port}/health"
        ids = [
            make_check(service, f"c{i}", interval_s=INTERVAL_S, config={"url": url}).pk
            for i in range(CHECKS)
        ]
        with stack(tmp_path):
            wait_until(
                lambda: real(ids).values("check_ref").distinct().count() == CHECKS,
                timeout=60,
                what="every check probed before the stop",
            )
        stopped = time.time()
        time.sleep(STOP_S)
        restarted = time.time()
        with stack(tmp_path):
            ready = time.time()
            firsts = wait_until(
                lambda: (
                    (
                        rows := real(ids)
                        .filter(slot__gte=math.ceil(restarted))
                        .values("check_ref")
                        .annotate(first=Min("slot"))
                    )
                    and len(rows) == CHECKS
                    and {r["check_ref"]: r["first"] for r in rows}
                ),
                timeout=INTERVAL_S + 30,
                what="every check probed again after the restart",
            )
            time.sleep(INTERVAL_S)  # one more interval, to see it stay on time
            end = int(time.time()) - 3  # slots newer than this may still be in flight
    # With the stack stopped no batch can record anything any more: the sweep may look as
    # far as it likes.
    gaps_record(now=time.time() + 2 * MAX_LATENESS_S + 1)
    in_stop = slots_between(ids, math.ceil(stopped), math.floor(restarted))
    # Nothing of the stop was probed: every slot in it is a gap.
    stop_rows = Result.objects.filter(
        check_ref__in=ids, slot__gte=math.ceil(stopped), slot__lt=math.floor(restarted)
    )
    assert set(stop_rows.values_list("check_ref", "slot")) == in_stop
    assert set(stop_rows.values_list("outcome", flat=True)) == {Outcome.SKIPPED}
    # Every check was back within one interval of the stack being up, and stayed on time.
    assert all(first < ready + INTERVAL_S + 2 for first in firsts.values()), (ready, firsts)
    since_back = {
        pair for check_id, first in firsts.items() for pair in slots_between([check_id], first, end)
    }
    probed = set(real(ids).filter(slot__gte=min(firsts.values())).values_list("check_ref", "slot"))
    assert since_back <= probed
    # The stop is neither downtime nor a state change.
    assert not Transition.objects.filter(check_ref__in=ids, to_state=State.DOWN).exists()
    assert set(service.checks.values_list("state", flat=True)) == {State.UP}
