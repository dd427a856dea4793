import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from checks.models import MaintenanceWindow
from statuspage.core.status_version import status_version
from statuspage.incidents.models import Maintenance, MaintenanceUpdate
from statuspage.incidents.selectors import services_under_maintenance
from statuspage.incidents.services_maintenance import (
    _auto_move,
    maintenance_delete,
    maintenance_edit,
    maintenance_schedule,
    maintenance_tick,
    maintenance_update_post,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
START = T0 + timedelta(hours=1)
END = T0 + timedelta(hours=3)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def schedule(services, writer, **overrides):
    values = {
        "title": "Database upgrade",
        "services": services,
        "scheduled_for": START,
        "scheduled_until": END,
        "body": "We upgrade the **database**.",
        "by": writer,
    }
    return maintenance_schedule(**{**values, **overrides})


def windows(maintenance):
    return sorted(
        MaintenanceWindow.objects.filter(source_id=maintenance.pk).values_list(
            "service__slug", "starts_at", "ends_at"
        )
    )


def timeline(maintenance):
    rows = MaintenanceUpdate.objects.filter(maintenance=maintenance).order_by("created_at", "pk")
    return [(u.status, u.body, u.created_at) for u in rows]


pytestmark = pytest.mark.django_db


def test_scheduling_announces_the_window_and_reserves_it_in_the_engine(clock, service, writer):
    maintenance = schedule([service], writer)
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.is_published) == ("scheduled", True)
    assert timeline(maintenance) == [("scheduled", "We upgrade the **database**.", T0)]
    assert windows(maintenance) == [("checkout-api", START, END)]


def test_the_tick_starts_at_the_start_and_completes_at_the_end(clock, service, writer):
    maintenance = schedule([service], writer)
    clock.move_to(START - timedelta(seconds=1))
    assert maintenance_tick(now=START - timedelta(seconds=1)) == (0, 0)
    clock.move_to(START)
    counts = maintenance_tick(now=START)
    assert (counts.started, counts.completed) == (1, 0)
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.started_at) == ("in_progress", START)
    assert windows(maintenance) == [("checkout-api", START, None)]
    clock.move_to(END)
    assert maintenance_tick(now=END) == (0, 1)
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.completed_at) == ("completed", END)
    assert windows(maintenance) == [("checkout-api", START, END)]
    assert [(s, b) for s, b, _ in timeline(maintenance)] == [
        ("scheduled", "We upgrade the **database**."),
        ("in_progress", "Maintenance started."),
        ("completed", "Maintenance completed."),
    ]


def test_a_tick_running_twice_changes_nothing_more(
    clock, service, writer, django_capture_on_commit_callbacks
):
    maintenance = schedule([service], writer)
    clock.move_to(START + timedelta(seconds=20))
    assert maintenance_tick(now=START + timedelta(seconds=20)) == (1, 0)
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert maintenance_tick(now=START + timedelta(seconds=20)) == (0, 0)
        assert maintenance_tick(now=START + timedelta(seconds=50)) == (0, 0)
    assert callbacks == [] and status_version() == before
    assert maintenance.updates.count() == 2


def test_a_late_tick_records_the_planned_times(clock, service, writer):
    maintenance = schedule([service], writer)
    late = END + timedelta(minutes=7)
    clock.move_to(late)
    assert maintenance_tick(now=late) == (1, 1)  # started and completed in one tick
    maintenance.refresh_from_db()
    assert (maintenance.started_at, maintenance.completed_at) == (START, END)
    assert [at for _, _, at in timeline(maintenance)] == [T0, START, END]
    assert windows(maintenance) == [("checkout-api", START, END)]


def test_a_person_moves_it_to_verifying_and_the_tick_still_completes_it(clock, service, writer):
    maintenance = schedule([service], writer)
    clock.move_to(START)
    maintenance_tick(now=START)
    clock.move_to(START + timedelta(minutes=50))
    maintenance_update_post(
        maintenance=maintenance, status="verifying", body="Checking.", by=writer
    )
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.started_at) == ("verifying", START)
    maintenance_update_post(
        maintenance=maintenance, status="in_progress", body="One more fix.", by=writer
    )
    maintenance_update_post(maintenance=maintenance, status="verifying", body="Again.", by=writer)
    clock.move_to(END)
    assert maintenance_tick(now=END) == (0, 1)
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"


def test_manual_moves_follow_the_rules(clock, service, writer):
    maintenance = schedule([service], writer, auto_start=False)
    clock.move_to(START + timedelta(minutes=5))
    assert maintenance_tick(now=START + timedelta(minutes=5)) == (0, 0)  # no auto_start
    assert windows(maintenance) == []
    maintenance_update_post(maintenance=maintenance, status="in_progress", body="Go.", by=writer)
    maintenance.refresh_from_db()
    assert maintenance.started_at == START + timedelta(minutes=5)
    assert windows(maintenance) == [("checkout-api", START + timedelta(minutes=5), None)]
    with pytest.raises(ValidationError, match="cannot go back to scheduled"):
        maintenance_update_post(maintenance=maintenance, status="scheduled", body="x", by=writer)
    with pytest.raises(ValidationError, match="Unknown status 'paused'"):
        maintenance_update_post(maintenance=maintenance, status="paused", body="x", by=writer)
    with pytest.raises(ValidationError, match="cannot be empty"):
        maintenance_update_post(maintenance=maintenance, status="verifying", body=" ", by=writer)
    maintenance_update_post(maintenance=maintenance, status="completed", body="Done.", by=writer)
    with pytest.raises(ValidationError, match="schedule a new one"):
        maintenance_update_post(maintenance=maintenance, status="in_progress", body="x", by=writer)
    maintenance_update_post(maintenance=maintenance, status="completed", body="Note.", by=writer)
    maintenance.refresh_from_db()
    assert maintenance.completed_at == START + timedelta(minutes=5)
    assert maintenance.updates.count() == 4


def test_without_auto_complete_it_runs_until_a_person_completes_it(clock, service, writer):
    maintenance = schedule([service], writer, auto_complete=False)
    clock.move_to(END + timedelta(hours=1))
    assert maintenance_tick(now=END + timedelta(hours=1)) == (1, 0)
    assert services_under_maintenance(now=END + timedelta(hours=1)) == {service.pk}
    maintenance_update_post(maintenance=maintenance, status="completed", body="Done.", by=writer)
    maintenance.refresh_from_db()
    assert windows(maintenance) == [("checkout-api", START, END + timedelta(hours=1))]
    assert services_under_maintenance(now=END + timedelta(hours=1)) == set()


def test_it_cannot_be_set_running_by_hand_after_its_end_while_auto_complete_is_on(
    clock, service, writer
):
    maintenance = schedule([service], writer, auto_start=False)
    clock.move_to(END + timedelta(minutes=1))
    with pytest.raises(ValidationError, match="completes by itself"):
        maintenance_update_post(maintenance=maintenance, status="in_progress", body="x", by=writer)


def test_completing_before_the_start_cancels_it_and_frees_the_window(clock, service, writer):
    maintenance = schedule([service], writer)
    maintenance_update_post(maintenance=maintenance, status="completed", body="Off.", by=writer)
    maintenance.refresh_from_db()
    assert (maintenance.started_at, maintenance.completed_at) == (None, T0)
    assert windows(maintenance) == []
    clock.move_to(START)
    assert maintenance_tick(now=START) == (0, 0)


def test_a_window_that_has_begun_starts_at_once(clock, service, writer):
    maintenance = schedule([service], writer, scheduled_for=T0 - timedelta(minutes=2))
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.started_at) == (
        "in_progress",
        T0 - timedelta(minutes=2),
    )
    # The note is not dated before the announcement.
    assert [(s, at) for s, _, at in timeline(maintenance)] == [
        ("scheduled", T0),
        ("in_progress", T0),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"scheduled_until": START}, "scheduled_until", "must end after it starts"),
        ({"scheduled_until": START - timedelta(minutes=1)}, "scheduled_until", "must end after"),
        (
            {"scheduled_for": T0 - timedelta(hours=2), "scheduled_until": T0},
            "scheduled_until",
            "already ended",
        ),
        ({"services": []}, "services", "at least one affected service"),
        ({"body": ""}, "body", "cannot be empty"),
        ({"title": ""}, "title", "cannot be empty"),
    ],
)
def test_scheduling_refuses_bad_input_and_writes_nothing(
    clock, service, writer, overrides, field, message
):
    services = overrides.pop("services", [service])
    with pytest.raises(ValidationError) as raised:
        schedule(services, writer, **overrides)
    assert message in raised.value.message_dict[field][0]
    assert not Maintenance.objects.exists() and not MaintenanceWindow.objects.exists()


def test_edits_keep_the_engine_windows_in_step(clock, service, other_service, writer):
    maintenance = schedule([service], writer)
    changed = maintenance_edit(
        maintenance=maintenance,
        title="Database upgrade",
        services=[service, other_service],
        scheduled_for=START + timedelta(hours=1),
        scheduled_until=END,
        is_published=True,
        auto_start=True,
        auto_complete=True,
        by=writer,
    )
    assert changed is True
    later = START + timedelta(hours=1)
    assert windows(maintenance) == [("checkout-api", later, END), ("search-api", later, END)]
    maintenance_edit(
        maintenance=maintenance,
        title="Database upgrade",
        services=[other_service],
        scheduled_for=later,
        scheduled_until=END,
        is_published=True,
        auto_start=False,
        auto_complete=True,
        by=writer,
    )
    assert windows(maintenance) == []  # no auto_start: nothing reserved until started
    maintenance_delete(maintenance=maintenance, by=writer)
    assert not MaintenanceWindow.objects.exists()


def test_the_tick_bumps_the_status_version_per_move(
    clock, service, writer, django_capture_on_commit_callbacks
):
    schedule([service], writer)
    schedule([service], writer, title="Cache flush")
    clock.move_to(START)
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert maintenance_tick(now=START) == (2, 0)
    assert status_version() == before + 2


def test_a_move_already_made_or_a_row_gone_is_skipped(clock, service, writer):
    maintenance = schedule([service], writer)
    clock.move_to(START)
    assert _auto_move(maintenance.pk, now=START, start=True) is True
    # A second tick that listed the row before the first one moved it.
    assert _auto_move(maintenance.pk, now=START, start=True) is False
    assert _auto_move(maintenance.pk + 1000, now=START, start=True) is False
    assert maintenance.updates.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tick_skips_a_row_another_transaction_holds(clock, service, writer):
    maintenance = schedule([service], writer)
    clock.move_to(START)
    results = []

    def other_tick():
        try:
            results.append(maintenance_tick(now=START))
        finally:
            connection.close()

    with transaction.atomic():
        Maintenance.objects.select_for_update().get(pk=maintenance.pk)
        thread = threading.Thread(target=other_tick)
        thread.start()
        thread.join(timeout=10)
    assert results == [(0, 0)]
    assert maintenance_tick(now=START) == (1, 0)
    assert maintenance.updates.count() == 2
