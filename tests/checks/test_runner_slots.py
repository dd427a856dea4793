"""Probes claimed ahead of their slot start at the slot, not before it and not a tick later."""

import time

import pytest

from checks.models import Outcome, Result
from checks.runner import probe_batch_run, worker_started
from checks.scheduling import Claim
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worlds import health_app


@pytest.fixture
def target_port():
    with serving_app(health_app()) as port:
        yield port


def whole_second_ahead(seconds: float) -> int:
    return int(time.time() + seconds) + 1


@pytest.mark.django_db
def test_a_probe_claimed_ahead_waits_for_its_slot(service, target_port, settings):
    settings.DISPATCH_LEAD_S = 3
    checks = [
        make_check(service, f"c{i}", config={"url": f"http://127.0.0.1:{target_port}/health"})
        for i in range(3)
    ]
    slot = whole_second_ahead(0.5)
    report = probe_batch_run(claims=[Claim(c.pk, slot) for c in checks], at_slots=True)
    assert report.recorded.inserted == 3
    for result in Result.objects.filter(check_ref__in=checks):
        assert result.outcome == Outcome.UP
        assert slot <= result.checked_at.timestamp() < slot + 0.5


@pytest.mark.django_db
def test_each_probe_of_a_batch_waits_for_its_own_slot(service, target_port, settings):
    settings.DISPATCH_LEAD_S = 3
    url = {"url": f"http://127.0.0.1:{target_port}/health"}
    first, second = make_check(service, "a", config=url), make_check(service, "b", config=url)
    slot = whole_second_ahead(0.2)
    probe_batch_run(claims=[Claim(first.pk, slot), Claim(second.pk, slot + 1)], at_slots=True)
    started = dict(Result.objects.values_list("check_ref", "checked_at"))
    assert slot <= started[first.pk].timestamp() < slot + 0.5
    assert slot + 1 <= started[second.pk].timestamp() < slot + 1.5


@pytest.mark.django_db
def test_a_slot_further_ahead_than_the_lead_waits_no_longer_than_the_lead(
    service, target_port, settings
):
    settings.DISPATCH_LEAD_S = 0.5
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    slot = whole_second_ahead(30)  # e.g. the dispatcher's clock is ahead of this one
    began = time.time()
    probe_batch_run(claims=[Claim(check.pk, slot)], at_slots=True)
    assert time.time() - began < 2
    assert Result.objects.get(check_ref=check).slot == slot


@pytest.mark.django_db
def test_a_late_claim_is_probed_at_once(service, target_port, settings):
    settings.DISPATCH_LEAD_S = 3
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    slot = int(time.time()) - 5
    began = time.time()
    report = probe_batch_run(claims=[Claim(check.pk, slot)], at_slots=True)
    assert report.probed == 1
    assert Result.objects.get(check_ref=check).checked_at.timestamp() - began < 0.5


@pytest.fixture
def worker_started_at():
    """Run as in a worker that started at the time given."""
    yield worker_started
    worker_started(None)


@pytest.mark.django_db
def test_a_batch_queued_while_no_worker_ran_is_a_gap(
    service, target_port, settings, worker_started_at
):
    settings.PROBE_MAX_LATENESS_S = 600
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    now = time.time()
    worker_started_at(now - 5)
    # Claimed and queued, then the worker went away for a minute.
    report = probe_batch_run(claims=[Claim(check.pk, int(now) - 58)], now=now, queued_at=now - 60)
    assert (report.probed, report.skipped) == (0, 1)
    gap = Result.objects.get(check_ref=check)
    assert gap.outcome == Outcome.SKIPPED
    assert gap.detail == "skipped: queued 55s before a worker started"


@pytest.mark.django_db
def test_a_late_slot_claimed_after_the_worker_started_is_probed(
    service, target_port, settings, worker_started_at
):
    settings.PROBE_MAX_LATENESS_S = 600
    url = {"url": f"http://127.0.0.1:{target_port}/health"}
    late, early = make_check(service, "late", config=url), make_check(service, "early", config=url)
    now = time.time()
    worker_started_at(now - 5)
    # A slot 30 s old claimed just now (the scheduler was away, not the worker), and a
    # batch queued while the worker was starting: both measured as usual.
    late_report = probe_batch_run(claims=[Claim(late.pk, int(now) - 30)], now=now, queued_at=now)
    early_report = probe_batch_run(
        claims=[Claim(early.pk, int(now) - 8)], now=now, queued_at=now - 10
    )
    assert (late_report.probed, early_report.probed) == (1, 1)
    assert set(Result.objects.values_list("outcome", flat=True)) == {Outcome.UP}


@pytest.mark.django_db
def test_outside_a_worker_only_the_lateness_limit_applies(service, target_port, settings):
    settings.PROBE_MAX_LATENESS_S = 600
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    report = probe_batch_run(
        claims=[Claim(check.pk, int(time.time()) - 300)], queued_at=time.time() - 300
    )
    assert (report.probed, report.skipped) == (1, 0)
