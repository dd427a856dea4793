"""Heartbeat deadlines: kept in an indexed column, found by a frequent sweep, recomputed
after edits, and many overdue checks shared out in chunks."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from checks.heartbeats import (
    PingInput,
    _due,
    _late_at_save,
    heartbeat_deadlines_refresh,
    heartbeats_due,
    heartbeats_sweep,
    ping_row,
    pings_apply,
)
from checks.models import Check, Kind, PingInbox, Result, State
from checks.tasks import refresh_heartbeat_deadlines, sweep_heartbeats, sweep_heartbeats_chunk
from statuspage.alerts.models import Channel, Notification
from statuspage.celery import app
from tests.checks.factories import make_check

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SUCCESS = PingInput(
    kind="success", exit_status=None, rid="", method="GET", remote_addr=None, user_agent="",
    body="",
)  # fmt: skip


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def jobs(service, count: int, **fields) -> list[Check]:
    with time_machine.travel(T0, tick=False):
        return [
            make_check(
                service, f"job-{n}", kind=Kind.HEARTBEAT, config={}, interval_s=60, grace_s=0,
                failures_before_down=1, **fields,
            )
            for n in range(count)
        ]  # fmt: skip


@pytest.mark.django_db
def test_the_sweep_stores_each_checks_next_deadline_and_reads_only_overdue_ones(service):
    (job,) = jobs(service, 1)
    assert heartbeats_due(now=T0 + timedelta(seconds=10)) == [job.pk]  # deadline unknown yet
    heartbeats_sweep(now=T0 + timedelta(seconds=10))
    job.refresh_from_db()
    assert job.late_at == T0 + timedelta(seconds=60)
    assert heartbeats_due(now=T0 + timedelta(seconds=59)) == []
    assert heartbeats_due(now=T0 + timedelta(seconds=60)) == [job.pk]

    summary = heartbeats_sweep(now=T0 + timedelta(seconds=61))
    assert (summary.inserted, summary.transitions) == (1, 1)
    job.refresh_from_db()
    assert (job.state, job.late_at) == (State.DOWN, T0 + timedelta(seconds=120))
    assert Result.objects.get().slot == int((T0 + timedelta(seconds=60)).timestamp())


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_overdue_query_uses_the_deadline_index(service):
    jobs(service, 3)
    now = T0 + timedelta(minutes=5)
    query = Check.objects.filter(
        kind=Kind.HEARTBEAT, is_enabled=True, is_paused=False, late_at__lte=now
    ).values_list("id", flat=True)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "check_heartbeat_late" in plan


def _scan_rows(plan: dict, table: str) -> list[float]:
    """The planner's row estimates of every scan of ``table`` in a JSON plan."""
    found = [plan["Plan Rows"]] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", []):
        found += _scan_rows(child, table)
    return found


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_planner_knows_disabled_heartbeat_checks_are_not_due(service):
    # Many enabled HTTP checks beside disabled heartbeat checks: taken as independent
    # columns, kind and is_enabled would look like hundreds of due heartbeat checks, and the
    # sweep (every second) would scan the table rather than the empty deadline index.
    Check.objects.bulk_create(
        [Check(service=service, name=f"http-{n}", kind=Kind.HTTP, interval_s=60,
               config={"url": "http://127.0.0.1:9/"}) for n in range(3000)]
        + [Check(service=service, name=f"job-{n}", kind=Kind.HEARTBEAT, interval_s=60,
                 is_enabled=False, late_at=T0) for n in range(1000)]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE checks_check")
    now = T0 + timedelta(minutes=5)
    query = _due().filter(Q(late_at__lte=now) | Q(late_at__isnull=True)).values_list("id")
    [document] = json.loads(query.explain(format="json"))
    estimates = _scan_rows(document["Plan"], "checks_check")
    assert estimates and max(estimates) < 20, estimates


@pytest.mark.django_db
def test_a_shorter_period_is_found_by_the_refresh_not_only_after_the_old_deadline(service):
    (job,) = jobs(service, 1)
    Check.objects.filter(pk=job.pk).update(interval_s=3600)
    heartbeats_sweep(now=T0 + timedelta(seconds=1))
    job.refresh_from_db()
    assert job.late_at == T0 + timedelta(hours=1)
    Check.objects.filter(pk=job.pk).update(interval_s=60)  # edited: late a minute after T0

    assert heartbeats_sweep(now=T0 + timedelta(seconds=90)).inserted == 0  # not read yet
    assert heartbeat_deadlines_refresh(now=T0 + timedelta(seconds=90)) == 1
    assert heartbeats_sweep(now=T0 + timedelta(seconds=91)).inserted == 1
    assert heartbeat_deadlines_refresh(now=T0 + timedelta(seconds=92)) == 0


@pytest.mark.django_db
def test_a_ping_applied_between_read_and_save_keeps_its_later_deadline(service):
    (job,) = jobs(service, 1)
    heartbeats_sweep(now=T0)
    later = T0 + timedelta(hours=1)
    Check.objects.filter(pk=job.pk).update(last_ping_at=later, late_at=later + timedelta(60))
    _late_at_save([(job.pk, T0 + timedelta(seconds=60), T0 + timedelta(seconds=120))])
    job.refresh_from_db()
    assert job.late_at == later + timedelta(60)


@pytest.mark.django_db
def test_many_overdue_checks_are_shared_out_and_each_recorded_once(service, team, eager):
    Channel.objects.create(team=team, name="mail", kind="email", target="ops@example.com")
    many = jobs(service, 1200)
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        assert sweep_heartbeats() == 500  # the rest went to chunk tasks, run eagerly
        assert sweep_heartbeats() == 0
    assert Result.objects.count() == 1200
    assert set(Check.objects.values_list("state", flat=True)) == {State.DOWN}
    assert Notification.objects.filter(event__check_ref__in=many).count() == 1200


@pytest.mark.django_db
def test_a_ping_stored_before_the_deadline_but_not_yet_applied_keeps_the_job_on_time(
    service,
):
    (job,) = jobs(service, 1)
    heartbeats_sweep(now=T0)
    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        row = ping_row(check_id=job.pk, ping=SUCCESS, now=timezone.now())
    # Answered, waiting in the inbox (as the request leaves it on PostgreSQL).
    PingInbox.objects.create(
        id=10**9, check_id=job.pk, kind=row.kind, received_at=row.received_at, method="GET"
    )
    assert heartbeats_sweep(now=T0 + timedelta(seconds=61)).inserted == 0
    with time_machine.travel(T0 + timedelta(seconds=62), tick=False), transaction.atomic():
        # What the drain does: out of the inbox, into the pings, applied.
        PingInbox.objects.all().delete()
        row.save()
        pings_apply([row])
    assert heartbeats_sweep(now=T0 + timedelta(seconds=63)).inserted == 0
    job.refresh_from_db()
    assert (job.state, job.late_at) == (State.UP, T0 + timedelta(seconds=119))


@pytest.mark.django_db
def test_a_chunk_of_deleted_or_recorded_checks_records_nothing(service):
    (job,) = jobs(service, 1)
    now = (T0 + timedelta(seconds=61)).timestamp()
    assert sweep_heartbeats_chunk([job.pk], now) == 1
    assert sweep_heartbeats_chunk([job.pk], now) == 0  # ran twice
    assert sweep_heartbeats_chunk([job.pk + 1000], now) == 0  # row missing


@pytest.mark.django_db
def test_the_refresh_task_runs_twice_safely(service):
    jobs(service, 2)
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        assert refresh_heartbeat_deadlines() == 2
        assert refresh_heartbeat_deadlines() == 0
