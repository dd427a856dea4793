import pytest

from checks.models import Check
from checks.scheduling import (
    as_datetime,
    checks_claim_due,
    slot_after,
    slot_at_or_before,
    slot_offset,
)
from tests.checks.factories import make_check

T0 = 1_796_000_000


def test_slots_of_one_interval_are_spread_across_it():
    offsets = {slot_offset(check_id=i, interval_s=60) for i in range(1, 1001)}
    assert len(offsets) == 60  # every second of the minute is used
    assert slot_at_or_before(check_id=7, interval_s=60, t=T0) <= T0
    assert slot_after(check_id=7, interval_s=60, t=T0) > T0


def test_a_slot_is_on_its_grid():
    slot = slot_at_or_before(check_id=42, interval_s=30, t=T0 + 12.5)
    assert (slot - slot_offset(check_id=42, interval_s=30)) % 30 == 0
    assert T0 + 12.5 - 30 < slot <= T0 + 12.5


@pytest.mark.django_db
def test_claims_a_due_check_once_and_moves_it_past_now(service):
    check = make_check(service)
    check.next_due_at = as_datetime(T0 - 5)
    check.save()
    claims = checks_claim_due(now=T0)
    assert [c.check_id for c in claims] == [check.pk]
    assert claims[0].slot == slot_at_or_before(check_id=check.pk, interval_s=60, t=T0)
    assert checks_claim_due(now=T0) == []
    check.refresh_from_db()
    assert check.next_due_at.timestamp() == claims[0].slot + 60
    assert check.next_due_at.timestamp() > T0


@pytest.mark.django_db
def test_missed_slots_are_skipped_not_replayed(service):
    check = make_check(service)
    check.next_due_at = as_datetime(T0 - 3600)  # an hour of slots missed
    check.save()
    claims = checks_claim_due(now=T0)
    assert len(claims) == 1
    assert T0 - 60 < claims[0].slot <= T0


@pytest.mark.django_db
def test_paused_disabled_and_heartbeat_checks_are_not_claimed(service, other_service):
    make_check(service, "paused", is_paused=True)
    make_check(service, "disabled", is_enabled=False)
    make_check(service, "job", kind="heartbeat", config={})
    other_service.is_paused = True
    other_service.save()
    make_check(other_service, "of-a-paused-service")
    Check.objects.update(next_due_at=as_datetime(T0 - 1))
    assert checks_claim_due(now=T0) == []


@pytest.mark.django_db
def test_claims_up_to_the_limit_oldest_first(service):
    checks = [make_check(service, f"c{i}") for i in range(5)]
    for i, check in enumerate(checks):
        check.next_due_at = as_datetime(T0 - 50 + i)
        check.save()
    claims = checks_claim_due(now=T0, limit=3)
    assert [c.check_id for c in claims] == [c.pk for c in checks[:3]]
    assert len(checks_claim_due(now=T0, limit=3)) == 2


@pytest.mark.django_db
def test_a_check_is_due_at_the_very_second_of_its_slot(service):
    check = make_check(service)
    slot = slot_after(check_id=check.pk, interval_s=60, t=T0)
    check.next_due_at = as_datetime(slot)
    check.save()
    assert checks_claim_due(now=slot - 1) == []
    claims = checks_claim_due(now=slot)
    assert [(c.check_id, c.slot) for c in claims] == [(check.pk, slot)]
    assert [c.slot for c in checks_claim_due(now=slot + 60)] == [slot + 60]


@pytest.mark.django_db
def test_a_slot_within_the_lead_is_claimed_ahead_and_keeps_its_time(service):
    check = make_check(service)
    slot = slot_after(check_id=check.pk, interval_s=60, t=T0)
    check.next_due_at = as_datetime(slot)
    check.save()
    assert checks_claim_due(now=slot - 3, lead_s=2) == []  # not yet within the lead
    claims = checks_claim_due(now=slot - 2, lead_s=2)
    assert [(c.check_id, c.slot) for c in claims] == [(check.pk, slot)]
    check.refresh_from_db()
    assert check.next_due_at.timestamp() == slot + 60
    # The next slot is claimed ahead in its turn, never twice.
    assert checks_claim_due(now=slot, lead_s=2) == []
    assert [c.slot for c in checks_claim_due(now=slot + 58.5, lead_s=2)] == [slot + 60]


@pytest.mark.django_db
def test_a_late_check_claimed_with_a_lead_gets_its_latest_past_slot(service):
    check = make_check(service)
    check.next_due_at = as_datetime(T0 - 3600)
    check.save()
    (claim,) = checks_claim_due(now=T0, lead_s=2)
    assert claim.slot == slot_at_or_before(check_id=check.pk, interval_s=60, t=T0)
    check.refresh_from_db()
    assert check.next_due_at.timestamp() == claim.slot + 60


@pytest.mark.django_db
def test_a_new_check_claimed_with_a_lead_is_due_at_once(service):
    check = make_check(service)
    Check.objects.filter(pk=check.pk).update(next_due_at=None)
    (claim,) = checks_claim_due(now=T0, lead_s=2)
    assert claim.slot == slot_at_or_before(check_id=check.pk, interval_s=60, t=T0)


@pytest.mark.django_db
def test_many_claims_move_every_check_to_its_own_next_slot(service):
    checks = [make_check(service, f"c{i}", interval_s=30 + 10 * (i % 3)) for i in range(30)]
    Check.objects.update(next_due_at=as_datetime(T0 - 1))
    claims = {c.check_id: c.slot for c in checks_claim_due(now=T0, lead_s=2)}
    assert set(claims) == {c.pk for c in checks}
    for check in Check.objects.filter(pk__in=claims):
        assert check.next_due_at.timestamp() == claims[check.pk] + check.interval_s


def test_dispatch_ticks_share_the_probes_queue_not_the_housekeeping_one():
    from statuspage.celery import app

    assert app.conf.task_routes["checks.dispatch_due"]["queue"] == "probes"
