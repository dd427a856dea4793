"""Beat runs the dispatch tick itself: due checks are claimed and their batches queued with
no worker in between, and a tick that fails is logged without stopping beat."""

import time

import pytest
from celery.beat import ScheduleEntry

from checks.models import Check
from checks.scheduling import as_datetime
from statuspage.celery import app
from statuspage.core.beat import HeartbeatScheduler
from statuspage.core.metrics import queue_sizes
from tests.checks.factories import make_check
from tests.checks.worker import celery_beat, wait_until


class Away(Exception):
    pass


@app.task(name="tests.core.flaky")
def flaky(fail: bool) -> None:
    if fail:
        raise Away("the database is away\nsecond line")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_claims_due_checks_and_queues_their_batch_with_no_worker_running(service, tmp_path):
    # Hourly: the slot after the claimed one is then almost never within the dispatch lead
    # of a later tick, which would claim it too and queue a second batch.
    check = make_check(service, interval_s=3600)
    Check.objects.filter(pk=check.pk).update(next_due_at=as_datetime(time.time() - 1))
    app.control.purge()
    try:
        with celery_beat(tmp_path, env={"DISPATCH_TICK_S": "1"}) as log:
            wait_until(
                lambda: "task=checks.dispatch_due claimed=1 batches=1" in log.read_text(),
                timeout=60,
                what="beat claiming the due check",
            )
        check.refresh_from_db()
        assert check.next_due_at.timestamp() > time.time() - 1
        # The batch waits in the probe queue for a worker.
        assert queue_sizes(["probes"]) == {"probes": 1}
        # The tick itself was never queued (beat's other entries are).
        assert "Sending due task dispatch-due" not in log.read_text()
        assert "Sending due task heartbeat-sweep" in log.read_text()
    finally:
        app.control.purge()


@pytest.mark.django_db
def test_a_failing_inline_tick_is_logged_once_while_it_fails_and_beat_goes_on(tmp_path, caplog):
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    failing = ScheduleEntry(name="flaky", task="tests.core.flaky", args=(True,), app=app)
    working = ScheduleEntry(name="flaky", task="tests.core.flaky", args=(False,), app=app)
    for _ in range(3):
        scheduler.run_inline(failing)  # never raises
    failures = [r.getMessage() for r in caplog.records if "inline_task.failed" in r.getMessage()]
    assert failures == [
        "event=inline_task.failed task=tests.core.flaky failing_for_s=0 "
        "error=Away: the database is away"
    ]
    scheduler.run_inline(working)
    recovered = [
        r.getMessage() for r in caplog.records if "inline_task.recovered" in r.getMessage()
    ]
    assert recovered == ["event=inline_task.recovered task=tests.core.flaky failed_for_s=0"]
    scheduler.run_inline(failing)  # a new run of failures is logged at once
    assert sum("inline_task.failed" in r.getMessage() for r in caplog.records) == 2
