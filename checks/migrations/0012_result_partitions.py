"""Results keyed by (check, slot, location) without a surrogate id; on PostgreSQL the table
becomes partitioned by day of slot (checks.partitions).

The table is rebuilt and its rows copied, on both databases: a partitioned table cannot be
made from a plain one in place, and neither database changes a primary key in place.
On PostgreSQL the keys and indexes are built after the copy (one sorted build each, packed,
instead of growing them row by row), and the checked_at index becomes a BRIN index.
docs/scaling.md says how long the copy takes and how a large installation upgrades.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations, models

import checks.models
from checks.partitions import DEFAULT, TABLE, day_slot, partition_of, slot_day

COLUMNS = "check_id, slot, location, checked_at, outcome, latency_ms, status_code, detail"
OLD = f"{TABLE}_unpartitioned"

# Eight-byte columns first, then the 4-byte latency, the two-byte ones and the short
# strings: no alignment padding inside a row. A plainly successful result (no status code,
# no detail) then fits a 56-byte tuple.
CREATE_PARTITIONED = f"""
CREATE TABLE {TABLE} (
    check_id bigint NOT NULL,
    slot bigint NOT NULL,
    checked_at timestamp with time zone NOT NULL,
    latency_ms real NULL,
    outcome smallint NOT NULL CHECK (outcome >= 0),
    status_code smallint NULL CHECK (status_code >= 0),
    location varchar(32) NOT NULL DEFAULT '',
    detail varchar(500) NOT NULL
) PARTITION BY RANGE (slot)
"""


def _postgresql_convert(schema_editor) -> None:
    """1. Move the old table aside (its indexes go: the copy reads it whole anyway).
    2. Create the partitioned table, its default partition and a partition per day from
       the oldest result to RESULT_PARTITIONS_AHEAD_DAYS ahead.
    3. Copy the rows, drop the old table.
    4. Build the primary key, the foreign key and the BRIN index on checked_at."""
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    run(f"ALTER TABLE {OLD} DROP CONSTRAINT IF EXISTS result_check_slot_location")
    run("DROP INDEX IF EXISTS result_checked_at")
    run(f"ALTER TABLE {OLD} DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
    run(CREATE_PARTITIONED)
    run(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT min(slot) FROM {OLD}")  # noqa: S608
        oldest = cursor.fetchone()[0]
    today = datetime.now(UTC).date()
    day = min(slot_day(oldest), today) if oldest is not None else today
    last = today + timedelta(days=settings.RESULT_PARTITIONS_AHEAD_DAYS)
    while day <= last:
        partition = partition_of(day)
        run(
            f'CREATE TABLE "{partition.name}" PARTITION OF {TABLE} '
            f"FOR VALUES FROM ({day_slot(day)}) TO ({partition.end})"
        )
        day += timedelta(days=1)
    run(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")  # noqa: S608
    run(f"DROP TABLE {OLD}")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (check_id, slot, location)")
    run(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_check_id_fk_checks_check_id "
        "FOREIGN KEY (check_id) REFERENCES checks_check (id) DEFERRABLE INITIALLY DEFERRED"
    )
    run(f"CREATE INDEX result_checked_at ON {TABLE} USING brin (checked_at)")


def _sqlite_convert(apps, schema_editor) -> None:
    """Rebuild the table from the new model state and copy the rows across."""
    run = schema_editor.execute
    run("DROP INDEX IF EXISTS result_checked_at")
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    schema_editor.create_model(apps.get_model("checks", "Result"))
    run(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")  # noqa: S608
    run(f"DROP TABLE {OLD}")


def results_convert(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _postgresql_convert(schema_editor)
    else:
        _sqlite_convert(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("checks", "0011_ping_intake"),
    ]

    operations = [
        # The model state first (the table itself is rebuilt below): the key that was a
        # unique constraint becomes the primary key and the id goes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="result",
                    name="result_check_slot_location",
                ),
                migrations.AddField(
                    model_name="result",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "check_ref",
                        "slot",
                        "location",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                migrations.RemoveField(
                    model_name="result",
                    name="id",
                ),
                migrations.AlterField(
                    model_name="result",
                    name="latency_ms",
                    field=checks.models.SingleFloatField(null=True),
                ),
            ],
        ),
        migrations.RunPython(results_convert, elidable=False),
    ]
