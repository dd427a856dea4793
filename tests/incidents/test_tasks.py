import logging
from datetime import UTC, datetime, timedelta

import pytest

from statuspage.incidents.models import Maintenance
from statuspage.incidents.services_maintenance import maintenance_schedule
from statuspage.incidents.tasks import maintenance_tick

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def maintenance(time_machine, service, writer):
    time_machine.move_to(T0, tick=False)
    return maintenance_schedule(
        title="Database upgrade",
        services=[service],
        scheduled_for=T0 + timedelta(minutes=10),
        scheduled_until=T0 + timedelta(minutes=40),
        body="Short downtime.",
        by=writer,
    )


def test_the_task_moves_what_is_due_and_logs_one_line(maintenance, time_machine, caplog):
    time_machine.move_to(T0 + timedelta(minutes=10), tick=False)
    with caplog.at_level(logging.INFO, logger="statuspage.incidents.tasks"):
        assert maintenance_tick.apply().get() == {"started": 1, "completed": 0}
    (line,) = [r.getMessage() for r in caplog.records if r.name == "statuspage.incidents.tasks"]
    assert line.startswith("task=incidents.maintenance_tick started=1 completed=0 ms=")


def test_the_task_ran_twice_moves_once(maintenance, time_machine):
    time_machine.move_to(T0 + timedelta(minutes=40), tick=False)
    assert maintenance_tick() == {"started": 1, "completed": 1}
    assert maintenance_tick() == {"started": 0, "completed": 0}
    assert maintenance.updates.count() == 3


def test_the_task_with_its_row_missing_does_nothing(maintenance, time_machine, caplog):
    Maintenance.objects.filter(pk=maintenance.pk).delete()
    time_machine.move_to(T0 + timedelta(minutes=40), tick=False)
    with caplog.at_level(logging.INFO, logger="statuspage.incidents.tasks"):
        assert maintenance_tick() == {"started": 0, "completed": 0}
    assert "started=0 completed=0" in caplog.text
