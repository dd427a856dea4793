"""A maintenance window recorded after the fact: the rollups of its past hours are
recomputed by a real worker after the commit, not inside the caller's request."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from checks.maintenance import maintenance_windows_sync
from checks.models import Outcome, Rollup
from checks.rollups import hour_start, rollup_day_compute, rollup_hour_compute
from checks.services import Observation, results_record
from tests.checks.factories import make_check
from tests.checks.worker import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.mark.django_db(transaction=True)
def test_a_past_window_is_rolled_up_again_by_the_worker_after_commit(service):
    check = make_check(service)
    past = hour_start(timezone.now()) - timedelta(hours=2)
    base = int(past.timestamp())
    results_record(
        observations=[
            Observation(check.pk, base + i * 60, base + i * 60 + 0.1, Outcome.DOWN, 50.0)
            for i in range(60)
        ]
    )
    rollup_hour_compute(start=past)
    rollup_day_compute(start=past)

    def hour_counts() -> tuple[int, int]:
        row = Rollup.objects.get(check_ref=check, period="hour", start=past)
        return row.down, row.maintenance

    with celery_worker() as worker:
        with transaction.atomic():
            result = maintenance_windows_sync(
                source_id=42,
                service_ids=[service.pk],
                starts_at=past,
                ends_at=past + timedelta(minutes=30),
            )
            assert hour_counts() == (60, 0)  # nothing recomputed inside the transaction
        worker.wait_for("task=checks.rollups_recompute hours=1 ")
        wait_until(lambda: hour_counts() == (30, 30))

    assert result.hours_queued == 1
