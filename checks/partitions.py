"""Day partitions of the results table on PostgreSQL.

``checks_result`` is partitioned by range of ``slot`` (epoch seconds), one partition per
UTC day, named ``checks_result_pYYYYMMDD``, plus ``checks_result_default`` for slots that
no day partition covers yet (a clock far ahead, a task that has not run), so an insert
never fails for want of a partition.

Why days: retention drops a whole partition (a catalog change, no dead rows for vacuum),
so a result lives at most a day past RESULT_RETENTION_DAYS; the pages' raw reads name a
slot range and are pruned to one or two partitions.

Why compaction: results of every check arrive interleaved in slot order, so each check's
run of the (check, slot, location) b-tree grows in the middle of the index and its pages
split half-full. Once a day is over, its primary key is rebuilt packed
(``partitions_compact``).

SQLite (the embedded default) has one plain table: every function here does nothing there
and retention deletes in batches (``checks.rollups.history_prune``).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from statuspage.core.dbtime import db_datetime

TABLE = "checks_result"
DEFAULT = f"{TABLE}_default"
PREFIX = f"{TABLE}_p"
DAY_S = 86400
# A day is compacted an hour after it ended. Gaps may still be recorded in it for a day
# (checks.gaps.MAX_LOOKBACK_S): such a late insert only splits the page it lands on.
COMPACT_AFTER_S = 3600
COMPACTED = "compacted"
# DDL on the results table waits this long for its lock, then gives up until the next run
# rather than queueing every insert behind it.
LOCK_TIMEOUT = "5s"
# A rebuild stops before the task's time limit (its leftovers go at the next run).
COMPACT_TIMEOUT = "180s"


@dataclass(frozen=True)
class Partition:
    name: str
    day: date

    @property
    def start(self) -> int:
        return day_slot(self.day)

    @property
    def end(self) -> int:
        return self.start + DAY_S


def partitioned() -> bool:
    """Whether results are day-partitioned here (PostgreSQL) or one plain table (SQLite)."""
    return connection.vendor == "postgresql"


def day_slot(day: date) -> int:
    """The first slot (epoch seconds) of a UTC day."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def slot_day(slot: int) -> date:
    return datetime.fromtimestamp(slot - slot % DAY_S, UTC).date()


def partition_of(day: date) -> Partition:
    return Partition(f"{PREFIX}{day:%Y%m%d}", day)


def partitions_list() -> list[Partition]:
    """The day partitions that exist, oldest first (the default partition is not one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname LIKE %s",
            [TABLE, PREFIX + "%"],
        )
        names = sorted(row[0] for row in cursor.fetchall())
    return [
        Partition(name, datetime.strptime(name.removeprefix(PREFIX), "%Y%m%d").date())
        for name in names
    ]


def partition_create(cursor, partition: Partition) -> None:
    """Create and attach one day partition, taking over its rows from the default one.

    The partition is built beside the table and then attached: ATTACH locks the parent
    only against other DDL, where CREATE ... PARTITION OF would block every read and
    write of results while it waits. Rows of that day that went to the default partition
    move first, under a lock that holds back new ones until the attach commits.
    """
    name, start, end = partition.name, partition.start, partition.end
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    cursor.execute(f'CREATE TABLE "{name}" (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    cursor.execute(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE slot >= %s AND slot < %s RETURNING *) "  # noqa: S608
        f'INSERT INTO "{name}" SELECT * FROM moved',
        [start, end],
    )
    cursor.execute(
        f'ALTER TABLE {TABLE} ATTACH PARTITION "{name}" FOR VALUES FROM ({start}) TO ({end})'
    )


def partitions_create(days: list[date]) -> list[str]:
    """Create the day partitions of ``days`` that are missing; returns the names created.
    Each partition is its own transaction, so one that cannot get its lock leaves the
    others done."""
    if not partitioned():
        return []
    existing = {p.day for p in partitions_list()}
    created = []
    for day in sorted(set(days) - existing):
        partition = partition_of(day)
        with transaction.atomic(), connection.cursor() as cursor:
            partition_create(cursor, partition)
        created.append(partition.name)
    return created


def partitions_ensure(*, now: datetime, ahead_days: int) -> list[str]:
    """Create the partitions of today and the next ``ahead_days`` days that are missing.
    A second run creates none."""
    today = now.astimezone(UTC).date()
    return partitions_create([today + timedelta(days=n) for n in range(ahead_days + 1)])


def partitions_drop(*, before_slot: int, now: datetime) -> tuple[list[str], int]:
    """Drop the day partitions that end at or before ``before_slot``; never today's.

    Returns the names dropped and their row count as the planner's statistics estimate
    it (counting exactly would read every row that is being thrown away).
    """
    if not partitioned():
        return [], 0
    today_start = day_slot(now.astimezone(UTC).date())
    limit = min(before_slot, today_start)
    dropped, rows = [], 0
    for partition in partitions_list():
        if partition.end > limit:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            # Foreign-key checks deferred by an enclosing transaction must run first: a
            # table with pending checks cannot be dropped.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
                [partition.name],
            )
            estimate = cursor.fetchone()[0]
            cursor.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{partition.name}"')
            cursor.execute(f'DROP TABLE "{partition.name}"')
        dropped.append(partition.name)
        rows += estimate
    return dropped, rows


def _primary_key_of(cursor, name: str) -> tuple[str, str | None]:
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, obj_description(i.indexrelid, 'pg_class') "
        "FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisprimary",
        [name],
    )
    return cursor.fetchone()


def partitions_compact(*, now: datetime, limit: int = 1) -> list[str]:
    """Rebuild the primary key of up to ``limit`` closed day partitions, packed full.

    A closed day takes no more inserts, so its index can be rebuilt with no free space
    (fillfactor 100). Outside a transaction the rebuild is CONCURRENTLY: results stay
    readable and writable meanwhile. A comment on the index marks it done.
    """
    if not partitioned():
        return []
    closed_before = int(now.timestamp()) - COMPACT_AFTER_S
    todo = [p for p in partitions_list() if p.end <= closed_before]
    done: list[str] = []
    with connection.cursor() as cursor:
        _leftovers_drop(cursor)
        cursor.execute(f"SET statement_timeout = '{COMPACT_TIMEOUT}'")
        try:
            for partition in todo:
                if len(done) >= limit:
                    break
                index, note = _primary_key_of(cursor, partition.name)
                if note == COMPACTED:
                    continue
                cursor.execute(f"ALTER INDEX {index} SET (fillfactor = 100)")
                concurrently = "" if connection.in_atomic_block else " CONCURRENTLY"
                cursor.execute(f"REINDEX INDEX{concurrently} {index}")
                cursor.execute(f"COMMENT ON INDEX {index} IS '{COMPACTED}'")
                done.append(partition.name)
        finally:
            cursor.execute("SET statement_timeout = DEFAULT")
    return done


def _leftovers_drop(cursor) -> None:
    """Drop the half-built copies that an interrupted REINDEX CONCURRENTLY leaves behind
    (invalid ``*_ccnew`` indexes): they would be kept up to date on every insert."""
    cursor.execute(
        "SELECT x.indexrelid::regclass::text FROM pg_index x "
        "JOIN pg_inherits i ON i.inhrelid = x.indrelid "
        "WHERE i.inhparent = %s::regclass AND NOT x.indisvalid "
        "AND x.indexrelid::regclass::text LIKE %s",
        [TABLE, "%\\_ccnew%"],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f"DROP INDEX {name}")


def oldest_rows_sql() -> str:
    """The keys of the oldest rows checked before %s, at most %s of them, in the table
    that holds the rows no partition drop removes: the default partition on PostgreSQL,
    the whole table on SQLite. Oldest first along the checked_at index."""
    table = DEFAULT if partitioned() else TABLE
    return (
        f"SELECT check_id, slot, location FROM {table} "  # noqa: S608
        "WHERE checked_at < %s ORDER BY checked_at LIMIT %s"
    )


def default_rows_delete(*, before: datetime, batch: int) -> int:
    """Delete up to ``batch`` of the rows ``oldest_rows_sql`` finds."""
    table = DEFAULT if partitioned() else TABLE
    sql = f"DELETE FROM {table} WHERE (check_id, slot, location) IN ({oldest_rows_sql()})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_datetime(before), batch])
        return cursor.rowcount
