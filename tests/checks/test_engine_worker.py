"""The engine with its real parts: PostgreSQL, Redis, a Celery worker, a local HTTP target.

Each test checks the idempotency promise: one result per (check, slot) and at most one
transition, whatever is delivered twice, raced or killed.
"""

import asyncio
import os
import signal
import threading
import time
from collections import Counter

import pytest
from aiohttp import web
from django.db import connection
from django.db.models import Count

from checks.models import Check, Result, Transition
from checks.scheduling import as_datetime, checks_claim_due
from checks.tasks import dispatch_due, probe_batch
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class Target:
    """A local HTTP service that counts requests; /slow sleeps first."""

    def __init__(self, slow_s: float = 0.0) -> None:
        self.hits = 0
        self.slow_s = slow_s
        self.app = web.Application()
        self.app.router.add_get("/health/{n}", self.health)

    async def health(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.slow_s:
            await asyncio.sleep(self.slow_s)
        return web.json_response({"ok": True})


def make_checks(service, port: int, count: int) -> list[Check]:
    return [
        make_check(service, f"c{i}", config={"url": f"http://127.0.0.1:{port}/health/{i}"})
        for i in range(count)
    ]


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def assert_one_result_and_transition_per_check(checks: list[Check]) -> None:
    ids = [c.pk for c in checks]
    per_slot = Result.objects.filter(check_ref__in=ids).values("check_ref", "slot")
    assert per_slot.annotate(n=Count("slot")).filter(n__gt=1).count() == 0
    assert Result.objects.filter(check_ref__in=ids).count() == len(checks)
    assert Transition.objects.filter(check_ref__in=ids).count() == len(checks)


@pytest.mark.django_db(transaction=True)
def test_same_slot_delivered_twice_stores_one_result(service):
    target = Target()
    with serving_app(target.app) as port, celery_worker() as worker:
        checks = make_checks(service, port, 20)
        slot = int(time.time())
        claims = [[c.pk, slot] for c in checks]
        probe_batch.delay(claims)
        probe_batch.delay(claims)
        worker.wait_for("task=checks.probe_batch", count=2)
    assert target.hits == 40  # both deliveries probed...
    assert_one_result_and_transition_per_check(checks)  # ...one result each
    assert any("inserted=0 duplicates=20" in line for line in worker.lines)
    assert set(Check.objects.values_list("state", flat=True)) == {"up"}


@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_claim_each_slot_once(service, settings):
    target = Target()
    with serving_app(target.app) as port, celery_worker() as worker:
        checks = make_checks(service, port, 300)
        Check.objects.update(next_due_at=as_datetime(time.time() - 1))
        # Two dispatch tasks in the worker race two dispatchers in this process, all
        # claiming ahead: a check whose next slot falls within the lead is claimed again,
        # for that next slot, by whichever dispatcher comes next.
        dispatch_due.delay()
        dispatch_due.delay()
        claimed: list[tuple[int, int]] = []

        def claim_here() -> None:
            try:
                claims = checks_claim_due(lead_s=settings.DISPATCH_LEAD_S)
                claimed.extend((c.check_id, c.slot) for c in claims)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim_here) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        worker.wait_for("task=checks.dispatch_due", count=2)

        def probed() -> set[tuple[int, int]]:
            return set(Result.objects.values_list("check_ref", "slot"))

        wait_until(lambda: {c for c, _ in probed() | set(claimed)} == {c.pk for c in checks})
        time.sleep(settings.DISPATCH_LEAD_S + 1)  # probes claimed ahead wait for their slot
    assert len(set(claimed)) == len(claimed)
    assert not probed() & set(claimed)  # no slot claimed here was also claimed there
    per_check = Counter(c for c, _ in probed() | set(claimed))
    assert set(per_check) == {c.pk for c in checks}  # every check claimed...
    assert max(per_check.values()) <= 2  # ...for its slot, and at most its next one
    per_slot = Result.objects.values("check_ref", "slot").annotate(n=Count("slot"))
    assert per_slot.filter(n__gt=1).count() == 0


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_redelivers_and_records_once(service):
    target = Target(slow_s=2.0)
    with serving_app(target.app) as port, celery_worker(concurrency=1) as worker:
        checks = make_checks(service, port, 10)
        slot = int(time.time())
        probe_batch.delay([[c.pk, slot] for c in checks])
        wait_until(lambda: target.hits >= 10, timeout=20)  # every probe is in flight
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        worker.wait_for("WorkerLostError", timeout=20)
        worker.wait_for("task=checks.probe_batch", timeout=30)
    assert target.hits == 20  # the batch ran again after the kill
    assert_one_result_and_transition_per_check(checks)
