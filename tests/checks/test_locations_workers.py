"""Two real worker processes acting as two locations, one of them cut off from the target.

Location "a" is the default location (queue "probes", worker started with ``--location a``);
location "b" has its own queue (worker started with ``-Q probes.b``) and may not reach
loopback addresses, so every probe it runs of the local target fails: its network trouble.
"""

import time

import pytest
from aiohttp import web

from checks.models import Check, Outcome, Result, State
from checks.scheduling import as_datetime, checks_claim_due
from checks.tasks import probe_batches, probe_batches_send
from statuspage.celery import app
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LOCATIONS = {"CHECK_LOCATIONS": "a,b"}


class Target:
    def __init__(self) -> None:
        self.status = 200
        self.app = web.Application()
        self.app.router.add_get("/health", self.health)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": self.status == 200}, status=self.status)


def slot_outcomes(check: Check, slot: int) -> dict[str, int]:
    rows = Result.objects.filter(check_ref=check, slot=slot)
    return dict(rows.values_list("location", "outcome"))


def run_slot(check: Check, now: float) -> int:
    """Dispatch the check's slot at ``now`` to its locations' queues; wait for its outcome."""
    Check.objects.filter(pk=check.pk).update(next_due_at=as_datetime(now - 1))
    (claim,) = checks_claim_due(now=now)
    probe_batches_send(probe_batches([claim]))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(slot_outcomes(check, claim.slot)) == 3:  # both locations and the outcome
            return claim.slot
        time.sleep(0.1)
    raise AssertionError(f"slot {claim.slot} not complete: {slot_outcomes(check, claim.slot)}")


def purge(*names: str) -> None:
    with app.connection_for_write() as conn:
        for name in names:
            conn.default_channel.queue_declare(queue=name)
            conn.default_channel.queue_purge(name)


@pytest.mark.django_db(transaction=True)
def test_the_check_state_follows_the_quorum_of_two_location_workers(service, settings):
    settings.CHECK_LOCATIONS = ["a", "b"]
    target = Target()
    purge("probes.b")
    with (
        serving_app(target.app) as port,
        celery_worker(name="loc-a", args=["--location", "a"], env=LOCATIONS) as worker_a,
        celery_worker(
            name="loc-b",
            args=["-Q", "probes.b"],
            env={**LOCATIONS, "CHECK_PRIVATE_TARGETS": "private"},
        ) as worker_b,
    ):
        check = make_check(
            service,
            config={"url": f"http://localhost:{port}/health"},
            interval_s=10,
            locations=["a", "b"],
            failures_before_down=1,
        )
        # b cannot reach the target: one location of two is not a quorum, the check is up.
        first = run_slot(check, time.time() - 30)
        assert slot_outcomes(check, first) == {"a": Outcome.UP, "b": Outcome.DOWN, "": Outcome.UP}
        check.refresh_from_db()
        assert check.state == State.UP
        refused = Result.objects.get(check_ref=check, slot=first, location="b").detail
        assert "target refused" in refused and "invalid definition" not in refused

        # The target itself fails: both locations agree, the check is down.
        target.status = 500
        second = run_slot(check, time.time())
        assert slot_outcomes(check, second) == {
            "a": Outcome.DOWN,
            "b": Outcome.DOWN,
            "": Outcome.DOWN,
        }
        check.refresh_from_db()
        assert check.state == State.DOWN
        assert check.last_detail.startswith("down from 2 of 2 locations: ")

    # Each worker ran its own location's probes only.
    for worker, own, other in ((worker_a, "a", "b"), (worker_b, "b", "a")):
        runs = [line for line in worker.lines if "task=checks.probe_batch" in line]
        assert len(runs) == 2
        assert all(f"location={own} " in line for line in runs)
        assert not any(f"location={other} " in line for line in worker.lines)
    purge("probes.b")
