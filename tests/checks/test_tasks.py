"""Each task: one log line per run, safe when its rows are gone, and when run twice."""

import logging
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from checks.models import Check, Kind, Result, Rollup, State, Transition
from checks.scheduling import as_datetime
from checks.tasks import dispatch_due, probe_batch, prune_results, rollup_recent, sweep_heartbeats
from statuspage.celery import app
from statuspage.core.metrics import queue_sizes
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worlds import health_app, task_lines


@pytest.fixture
def target_port():
    with serving_app(health_app()) as port:
        yield port


@pytest.mark.django_db
def test_probe_batch_records_logs_and_ignores_a_second_run(service, target_port, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    slot = int(time.time())
    assert probe_batch([[check.pk, slot]]) == 1
    assert probe_batch([[check.pk, slot]]) == 0
    lines = task_lines(caplog, "checks.probe_batch")
    assert "probed=1 failed=0 skipped=0 inserted=1 duplicates=0 transitions=1" in lines[0]
    assert "probed=1 failed=0 skipped=0 inserted=0 duplicates=1 transitions=0" in lines[1]
    assert Result.objects.count() == 1
    check.refresh_from_db()
    assert check.state == State.UP


@pytest.mark.django_db
def test_probe_batch_skips_a_deleted_check(service, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    check = make_check(service)
    gone = check.pk
    check.delete()
    assert probe_batch([[gone, int(time.time())]]) == 0
    line = task_lines(caplog, "checks.probe_batch")[0]
    assert "claims=1 probed=0 failed=0 skipped=0 inserted=0" in line


@pytest.mark.django_db
def test_probe_batch_counts_failures(service, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    with serving_app(health_app(status=503)) as port:
        check = make_check(service, config={"url": f"http://127.0.0.1:{port}/health"})
        probe_batch([[check.pk, int(time.time())]])
    assert "probed=1 failed=1" in task_lines(caplog, "checks.probe_batch")[0]
    assert Result.objects.get().detail.startswith("HTTP 503")


@pytest.mark.django_db
def test_dispatch_due_claims_once_when_run_twice(
    service, caplog, django_capture_on_commit_callbacks, settings
):
    # Without a lead: with one, a check whose next slot falls within the lead is rightly
    # claimed again for that next slot (tests/checks/test_dispatch.py covers the lead).
    settings.DISPATCH_LEAD_S = 0
    caplog.set_level(logging.INFO, logger="checks.tasks")
    make_check(service, "a")
    make_check(service, "b")
    Check.objects.update(next_due_at=as_datetime(time.time() - 1))
    with django_capture_on_commit_callbacks() as callbacks:
        assert dispatch_due() == 2
        assert dispatch_due() == 0
    assert len(callbacks) == 2  # each run queues its batches only after commit
    lines = task_lines(caplog, "checks.dispatch_due")
    assert "claimed=2 batches=1" in lines[0]
    assert "claimed=0 batches=0" in lines[1]


@pytest.mark.django_db
def test_dispatch_due_with_no_checks_does_nothing(caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    assert dispatch_due() == 0
    assert "claimed=0" in task_lines(caplog, "checks.dispatch_due")[0]


@pytest.mark.django_db
def test_sweep_twice_records_one_late_result(service, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    past = datetime.now(UTC) - timedelta(hours=3)
    with time_machine.travel(past, tick=False):
        make_check(service, "job", kind=Kind.HEARTBEAT, config={}, interval_s=3600, grace_s=60,
                   failures_before_down=1)  # fmt: skip
    assert sweep_heartbeats() == 1
    assert sweep_heartbeats() == 0
    assert Transition.objects.count() == 1
    assert "late=1 transitions=1" in task_lines(caplog, "checks.sweep_heartbeats")[0]


@pytest.mark.django_db
def test_rollups_twice_give_the_same_rows(service, target_port):
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    probe_batch([[check.pk, int(time.time())]])
    rollup_recent()
    first = list(Rollup.objects.values_list("period", "up"))
    rollup_recent()
    assert sorted(Rollup.objects.values_list("period", "up")) == sorted(first)
    assert ("hour", 1) in first and ("day", 1) in first


@pytest.mark.django_db
def test_prune_twice_deletes_once(service, settings, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    settings.RESULT_RETENTION_DAYS = 1
    check = make_check(service)
    old = int(time.time()) - 3 * 86400
    Result.objects.create(check_ref=check, slot=old, checked_at=as_datetime(old), outcome=1)
    assert prune_results()["results"] == 1
    assert prune_results()["results"] == 0
    assert "results=1" in task_lines(caplog, "checks.prune_results")[0]


@pytest.mark.django_db
def test_run_check_prints_what_it_saw_and_stores_nothing(service, target_port):
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    out = StringIO()
    call_command("run_check", str(check.pk), stdout=out)
    text = out.getvalue()
    assert "outcome:  up" in text
    assert "status:   200" in text
    assert Result.objects.count() == 0


@pytest.mark.django_db
def test_run_check_records_once_per_slot(service, target_port):
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    out = StringIO()
    call_command("run_check", str(check.pk), "--record", stdout=out)
    call_command("run_check", str(check.pk), "--record", stdout=out)
    assert "result stored" in out.getvalue()
    assert "not stored: this slot already has a result" in out.getvalue()
    assert Result.objects.count() == 1


@pytest.mark.django_db
def test_run_check_explains_refused_requests(service):
    heartbeat = make_check(service, "job", kind=Kind.HEARTBEAT, config={})
    with pytest.raises(CommandError, match="no check with id 999999"):
        call_command("run_check", "999999")
    with pytest.raises(CommandError, match="is a heartbeat"):
        call_command("run_check", str(heartbeat.pk))
    broken = make_check(service, "broken")
    Check.objects.filter(pk=broken.pk).update(config={"url": "ftp://x"})
    with pytest.raises(CommandError, match="invalid definition"):
        call_command("run_check", str(broken.pk))


@pytest.mark.django_db
def test_dispatch_due_queues_nothing_more_on_a_queue_no_worker_takes(
    service, settings, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    settings.DISPATCH_MAX_QUEUED_BATCHES = 2
    checks = [make_check(service, f"c{i}") for i in range(2)]
    later = as_datetime(time.time() + 3600)  # each is made due below, when the test says
    Check.objects.filter(pk__in=[c.pk for c in checks]).update(next_due_at=later)
    app.control.purge()
    try:
        for _ in range(3):  # batches no worker takes
            probe_batch.apply_async(([],), queue="probes")
        Check.objects.filter(pk=checks[0].pk).update(next_due_at=as_datetime(time.time() - 1))
        with django_capture_on_commit_callbacks(execute=True):
            assert dispatch_due() == 1
        line = task_lines(caplog, "checks.dispatch_due")[0]
        assert "claimed=1 batches=0 resumed=0 dropped=1" in line
        assert queue_sizes(["probes"]) == {"probes": 3}
        app.control.purge()
        # The claim moved the first check to its next slot, which may fall within the
        # dispatch lead and be claimed again; parked, it leaves the second one alone.
        Check.objects.filter(pk=checks[0].pk).update(next_due_at=later)
        Check.objects.filter(pk=checks[1].pk).update(next_due_at=as_datetime(time.time() - 1))
        with django_capture_on_commit_callbacks(execute=True):
            assert dispatch_due() == 1
        line = task_lines(caplog, "checks.dispatch_due")[1]
        assert "claimed=1 batches=1 resumed=0 dropped=0" in line
        assert queue_sizes(["probes"]) == {"probes": 1}
    finally:
        app.control.purge()


@pytest.mark.django_db
def test_dispatch_due_claims_nothing_while_the_broker_does_not_answer(service, settings, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    check = make_check(service)
    check.next_due_at = as_datetime(time.time() - 1)
    check.save()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert dispatch_due() == 0
    line = task_lines(caplog, "checks.dispatch_due")[0]
    assert "claimed=0 batches=0 resumed=0 dropped=0" in line
    assert "event=dispatch.broker_unreachable" in caplog.text
    check.refresh_from_db()
    assert check.next_due_at.timestamp() < time.time()  # left for a tick that can queue it
