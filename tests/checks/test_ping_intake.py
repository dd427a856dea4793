"""Ping intake on PostgreSQL: a 200 means the ping is committed to the inbox; the drain
moves it to the pings and applies it.

Real parts: gunicorn, a Celery worker and PostgreSQL, killed with SIGKILL where a process
could die at the worst moment.
"""

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from checks.heartbeats import PingInput
from checks.models import Check, Kind, Ping, PingInbox, Result, State
from checks.ping_intake import ping_accept, pings_drain
from checks.tasks import drain_pings
from tests.checks.factories import make_check
from tests.checks.worker import _database_url, celery_worker
from tests.gunicorn_server import gunicorn
from tests.reverse_proxy import call

pytestmark = [pytest.mark.postgres]


def heartbeat(service, name: str = "nightly") -> Check:
    with time_machine.travel(timezone.now() - timedelta(minutes=30), tick=False):
        return make_check(
            service, name, kind=Kind.HEARTBEAT, config={}, interval_s=3600, grace_s=300,
            failures_before_down=1,
        )  # fmt: skip


def wait_until(condition, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def pids_of(marker: str) -> list[int]:
    """Processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command:
            found.append(int(entry.name))
    return found


def success() -> PingInput:
    return PingInput(
        kind="success", exit_status=None, rid="", method="GET", remote_addr=None,
        user_agent="", body="",
    )  # fmt: skip


@pytest.mark.django_db
def test_a_ping_waits_in_the_inbox_and_the_state_follows_after_the_drain(client, service):
    job = heartbeat(service)
    assert client.get(f"/ping/{job.ping_uuid}").status_code == 200
    waiting = PingInbox.objects.get()
    assert (waiting.check_id, Ping.objects.count()) == (job.pk, 0)
    job.refresh_from_db()
    assert (job.state, job.last_ping_at) == (State.UNKNOWN, None)

    summary = pings_drain()
    assert (summary.pings, summary.inserted, summary.transitions) == (1, 1, 1)
    job.refresh_from_db()
    stored = Ping.objects.get()
    assert (stored.pk, stored.received_at) == (waiting.pk, waiting.received_at)
    assert not PingInbox.objects.exists()
    assert (job.state, job.last_ping_at) == (State.UP, stored.received_at)
    assert job.late_at == stored.received_at + timedelta(seconds=3600 + 300)


@pytest.mark.django_db
def test_draining_twice_applies_each_ping_once(client, service):
    job = heartbeat(service)
    client.get(f"/ping/{job.ping_uuid}/fail")
    first, second = pings_drain(), pings_drain()
    assert (first.pings, second.pings) == (1, 0)
    assert Result.objects.filter(check_ref=job).count() == 1


@pytest.mark.django_db
def test_the_drain_task_with_nothing_pending_does_nothing(service):
    heartbeat(service)
    assert drain_pings() == 0


@pytest.mark.django_db
def test_pings_of_many_checks_are_applied_in_one_drain_in_order(client, service):
    jobs = [heartbeat(service, f"job-{n}") for n in range(30)]
    now = timezone.now()
    for n, job in enumerate(jobs):
        for k, suffix in enumerate(("/start", "" if n % 2 else "/fail")):
            with time_machine.travel(now + timedelta(seconds=k * 5), tick=False):
                assert client.get(f"/ping/{job.ping_uuid}{suffix}").status_code == 200
    summary = pings_drain(batch=7)
    assert summary.pings == 60
    states = dict(Check.objects.filter(pk__in=[j.pk for j in jobs]).values_list("id", "state"))
    assert [states[j.pk] for j in jobs] == [State.DOWN, State.UP] * 15
    durations = set(Ping.objects.exclude(kind="start").values_list("duration_ms", flat=True))
    assert durations == {5000.0}


@pytest.mark.django_db(transaction=True)  # autocommit, as in a request
def test_a_check_deleted_after_its_pings_is_a_404_at_once(client, service):
    job = heartbeat(service)
    assert client.get(f"/ping/{job.ping_uuid}").status_code == 200
    Check.objects.filter(pk=job.pk).delete()
    assert client.get(f"/ping/{job.ping_uuid}").status_code == 404
    # The ping answered before the delete leaves the inbox with nothing stored.
    assert PingInbox.objects.count() == 1
    assert pings_drain().pings == 0
    assert (PingInbox.objects.count(), Ping.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_check_changed_to_another_kind_takes_no_more_pings(client, service):
    job = heartbeat(service)
    assert client.get(f"/ping/{job.ping_uuid}").status_code == 200
    Check.objects.filter(pk=job.pk).update(kind=Kind.HTTP)
    assert client.get(f"/ping/{job.ping_uuid}").status_code == 404
    assert PingInbox.objects.filter(check_id=job.pk).count() == 1


@pytest.mark.django_db
def test_a_refused_row_inside_a_transaction_leaves_it_usable(service):
    job = heartbeat(service)
    with transaction.atomic():
        Check.objects.filter(pk=job.pk).delete()
        # The row's check is gone: a 404, and the transaction goes on.
        assert ping_accept(ping_uuid=job.ping_uuid, ping=success(), now=timezone.now()) is None
        assert Check.objects.filter(service=service).count() == 0


@pytest.mark.django_db
def test_a_connection_prepares_the_statement_once_for_all_its_pings(service):
    job = heartbeat(service)
    for _ in range(3):
        assert ping_accept(ping_uuid=job.ping_uuid, ping=success(), now=timezone.now()) == job.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["INSERT INTO checks_pinginbox%"],
        )
        assert cursor.fetchone()[0] == 1
    assert PingInbox.objects.filter(check_id=job.pk).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("synchronous", [True, False])
def test_both_commit_modes_store_the_ping(service, settings, synchronous):
    settings.PING_SYNCHRONOUS_COMMIT = synchronous
    job = heartbeat(service)
    assert ping_accept(ping_uuid=job.ping_uuid, ping=success(), now=timezone.now()) == job.pk
    assert PingInbox.objects.filter(check_id=job.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_ping_answered_200_survives_the_web_process_killed_at_once(service, tmp_path):
    job = heartbeat(service)
    with gunicorn(tmp_path / "web", workers=1) as server:
        reply = call(server.port, "POST", f"/ping/{job.ping_uuid}", body=b"rows=12")
        assert reply.status == 200
        processes = pids_of(f"--bind=127.0.0.1:{server.port}")
        assert len(processes) == 2  # master and its worker
        for pid in processes:
            os.kill(pid, signal.SIGKILL)
    waiting = PingInbox.objects.get(check_id=job.pk)
    assert waiting.body == "rows=12"

    with celery_worker(concurrency=1) as worker:
        drain_pings.delay()
        worker.wait_for("task=checks.drain_pings pings=1 ", timeout=30)
    job.refresh_from_db()
    assert (job.state, job.last_ping_at) == (State.UP, waiting.received_at)
    assert Ping.objects.get(check_ref=job).body == "rows=12"


@pytest.mark.django_db(transaction=True)
def test_a_drain_killed_mid_batch_leaves_the_pings_in_the_inbox_for_the_next(client, service):
    job = heartbeat(service)
    for kind in ("start", "fail"):
        assert client.get(f"/ping/{job.ping_uuid}/{kind}").status_code == 200
    # Hold the check's row: the drain claims the pings, then waits on this lock.
    blocker = psycopg.connect(_database_url().replace("postgres://", "postgresql://", 1))
    blocker.execute("SELECT id FROM checks_check WHERE id = %s FOR UPDATE", [job.pk])
    try:
        with celery_worker(concurrency=1) as worker:
            drain_pings.delay()
            wait_until(lambda: _waiting_on_a_lock() > 0, timeout=30)
            (child,) = worker.children()
            os.kill(child, signal.SIGKILL)
            worker.wait_for("WorkerLostError", timeout=30)
            assert (PingInbox.objects.count(), Ping.objects.count()) == (2, 0)
            blocker.rollback()
            # The killed drain's transaction is rolled back once its server process
            # notices the lost client; a later drain then applies the pings.
            wait_until(lambda: _drained_by(worker), timeout=30)
    finally:
        blocker.close()
    assert (PingInbox.objects.count(), Ping.objects.count()) == (0, 2)
    assert Result.objects.filter(check_ref=job).count() == 1
    job.refresh_from_db()
    assert job.state == State.DOWN


def _drained_by(worker) -> bool:
    if PingInbox.objects.exists():
        drain_pings.delay()
        time.sleep(0.5)
        return False
    return True


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_share_the_pings_and_apply_each_once(client, service):
    jobs = [heartbeat(service, f"job-{n}") for n in range(40)]
    for job in jobs:
        client.get(f"/ping/{job.ping_uuid}")
    results = []

    def drain() -> None:
        try:
            results.append(pings_drain(batch=5).pings)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 40
    assert Result.objects.count() == 40
    assert set(Check.objects.values_list("state", flat=True)) == {State.UP}
