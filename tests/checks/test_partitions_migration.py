"""Migration 0012: an installation's results survive the rebuild of the table."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from checks.models import Outcome, Result
from checks.partitions import DEFAULT, partition_of, slot_day
from checks.services import Observation, results_record
from tests.checks.factories import make_check

migration = importlib.import_module("checks.migrations.0012_result_partitions")
BEFORE = ("checks", "0010_result_location_check_locations")
AFTER = ("checks", "0012_result_partitions")
SLOT = 1_795_000_020  # 2026-11-18


def state_apps(key):
    return MigrationLoader(connection).project_state(key).apps


@pytest.mark.django_db(transaction=True)
def test_results_stored_before_the_rebuild_are_all_there_after_it(service):
    check = make_check(service)
    rows = [
        (check.pk, SLOT + 60 * n, "", f"2026-11-18 10:{n:02d}:01+00", 1, 10.0 + n, 200, "")
        for n in range(30)
    ]
    rows += [(check.pk, SLOT, "eu", "2026-11-18 10:00:02+00", 3, None, None, "timeout")]
    with connection.schema_editor() as editor:
        editor.execute(
            "DROP TABLE checks_result"
            + (" CASCADE" if editor.connection.vendor == "postgresql" else "")
        )
        editor.create_model(state_apps(BEFORE).get_model("checks", "Result"))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO checks_result (check_id, slot, location, checked_at, outcome, "
            "latency_ms, status_code, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )

    with connection.schema_editor() as editor:
        migration.results_convert(state_apps(AFTER), editor)

    stored = sorted(
        Result.objects.values_list("slot", "location", "outcome", "latency_ms", "detail")
    )
    assert stored == sorted((r[1], r[2], r[4], r[5], r[7]) for r in rows)
    # The key still refuses a second result for a slot, and new results go in.
    results_record(
        observations=[
            Observation(check.pk, SLOT, SLOT + 0.5, Outcome.DOWN, None),
            Observation(check.pk, SLOT + 3600, SLOT + 3600.5, Outcome.UP, 9.0),
        ]
    )
    assert Result.objects.count() == len(rows) + 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tableoid::regclass::text FROM checks_result")
            assert {row[0] for row in cursor.fetchall()} == {partition_of(slot_day(SLOT)).name}
            cursor.execute(f"SELECT count(*) FROM {DEFAULT}")  # noqa: S608
            assert cursor.fetchone()[0] == 0
