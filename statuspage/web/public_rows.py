"""What is public, decided once: every read of the public page, its JSON, feeds and
badges goes through these queries (``statuspage.web.public`` shapes their rows).

The rules: published incidents and maintenance windows only (``published``), public
services only (``public_service``), and of them only the public columns listed below;
check targets, check details, owner notes, internal descriptions and authors are never
selected.

Raw SQL: the status page reads all of this on every render after a change, and through the
ORM compiling the queries and building model instances cost several times what the
database spends answering them.

Rows are dicts keyed by column name, datetimes aware (SQLite's text read back as the ORM
does, see ``statuspage.core.dbtime``), booleans as bool.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from checks.models import Check
from statuspage.catalog.models import Service
from statuspage.core.dbtime import datetime_from_db, db_datetime
from statuspage.core.sql import id_in
from statuspage.incidents.models import (
    Incident,
    IncidentService,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage.incidents.rules import RUNNING_STATUSES

RESOLVED = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)

SERVICE_COLUMNS = (
    "id", "slug", "name", "public_name", "public_description", "component_group", "position",
    "is_paused", "created_at", "updated_at",
)  # fmt: skip
CHECK_COLUMNS = ("id", "state", "is_paused", "is_enabled", "state_changed_at")
INCIDENT_COLUMNS = (
    "id", "title", "impact", "status", "created_at", "updated_at", "started_at",
    "monitoring_at", "resolved_at", "postmortem",
)  # fmt: skip
MAINTENANCE_COLUMNS = (
    "id", "title", "status", "auto_start", "created_at", "updated_at", "scheduled_for",
    "scheduled_until", "started_at", "completed_at",
)  # fmt: skip
DATETIMES = {
    "created_at", "updated_at", "started_at", "monitoring_at", "resolved_at",
    "scheduled_for", "scheduled_until", "completed_at", "state_changed_at",
}  # fmt: skip
BOOLEANS = {"is_paused", "is_enabled", "auto_start"}


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def _converters(columns: Sequence[str]):
    """Per column: how its raw value becomes what the ORM would have returned."""
    sqlite = connection.vendor == "sqlite"
    return [
        datetime_from_db if sqlite and name in DATETIMES else bool if name in BOOLEANS else None
        for name in columns
    ]


def _records(
    rows: list[tuple], columns: Sequence[str], keys: Sequence[str] | None = None
) -> list[dict]:
    """Rows as dicts under ``keys`` (the column names unless given), values converted."""
    convert = _converters(columns)
    keys = keys or columns
    return [
        {
            key: value if how is None or value is None else how(value)
            for key, value, how in zip(keys, row, convert, strict=True)
        }
        for row in rows
    ]


def _select(alias: str, columns: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in columns)


def published(alias: str) -> tuple[str, list]:
    """An incident or maintenance window (table alias ``alias``) is published."""
    return f"{alias}.is_published = %s", [True]


def public_service(alias: str) -> tuple[str, list]:
    """A service (table alias ``alias``) is public."""
    return f"{alias}.is_public = %s", [True]


# ------------------------------------------------------------------------- services


def public_services() -> tuple[list[dict], list[dict]]:
    """The public services in page order, and the checks of each (``service_id`` added).

    One query, a row per check (the service's columns repeated) or one without a check:
    starting from the public services keeps the plan on the indexes however many private
    services and checks the installation has.
    """
    service, check = Service._meta.db_table, Check._meta.db_table
    public, params = public_service("s")
    sql = (
        f"SELECT {_select('s', SERVICE_COLUMNS)}, {_select('c', CHECK_COLUMNS)} "  # noqa: S608
        f"FROM {service} s LEFT JOIN {check} c ON c.service_id = s.id "
        f"WHERE {public} ORDER BY s.position, s.name, s.id, c.id"
    )
    width = len(SERVICE_COLUMNS)
    names = (*SERVICE_COLUMNS, *(f"check_{name}" for name in CHECK_COLUMNS))
    services: list[dict] = []
    checks: list[dict] = []
    for row in _records(_fetch(sql, params), (*SERVICE_COLUMNS, *CHECK_COLUMNS), names):
        if not services or services[-1]["id"] != row["id"]:
            services.append({name: row[name] for name in names[:width]})
        if row["check_id"] is not None:
            checks.append({name: row[f"check_{name}"] for name in CHECK_COLUMNS})
            checks[-1]["service_id"] = row["id"]
    return services, checks


# ------------------------------------------------------------------------ incidents


def _published(
    table: str,
    alias: str,
    columns: Sequence[str],
    order: str,
    condition: str,
    params: Sequence[Any],
    limit: int | None,
) -> list[dict]:
    """The published rows of ``table`` matching ``condition`` (SQL on ``alias``)."""
    visible, args = published(alias)
    sql = f"SELECT {_select(alias, columns)} FROM {table} {alias} WHERE {visible}"  # noqa: S608
    if condition:
        sql += f" AND ({condition})"
        args += [db_datetime(p) if isinstance(p, datetime) else p for p in params]
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)
    return _records(_fetch(sql, args), columns)


def _incidents(condition: str = "", params: Sequence[Any] = (), *, limit: int | None = None):
    """Published incidents matching ``condition`` (SQL on alias i), newest start first,
    each with ``affected`` (public services only, in page order) and ``updates`` (newest
    first). Three queries."""
    incidents = _published(
        Incident._meta.db_table, "i", INCIDENT_COLUMNS, "i.started_at DESC, i.id DESC",
        condition, params, limit,
    )  # fmt: skip
    if not incidents:
        return incidents
    ids = [row["id"] for row in incidents]
    affected = _affected(
        "SELECT a.incident_id, s.id, s.name, s.public_name, a.component_status "  # noqa: S608
        f"FROM {IncidentService._meta.db_table} a "
        f"JOIN {Service._meta.db_table} s ON s.id = a.service_id",
        "a.incident_id",
        ids,
    )
    updates = _updates(IncidentUpdate._meta.db_table, "incident_id", ids)
    return _attach(incidents, affected, updates)


def _affected(select: str, owner: str, ids: list[int]) -> list[tuple]:
    """The public services (alias s) that ``select`` joins to the items ``ids`` (by the
    column ``owner``), in page order."""
    which, params = id_in(owner, ids)
    public, public_params = public_service("s")
    return _fetch(
        f"{select} WHERE {which} AND {public} ORDER BY s.position, s.name, s.id",
        [*params, *public_params],
    )


def _updates(table: str, owner: str, ids: list[int]) -> list[tuple]:
    which, params = id_in(f"u.{owner}", ids)
    rows = _fetch(
        f"SELECT u.{owner}, u.id, u.status, u.body, u.created_at FROM {table} u "  # noqa: S608
        f"WHERE {which} ORDER BY u.created_at DESC, u.id DESC",
        params,
    )
    if connection.vendor == "sqlite":
        rows = [(*row[:4], datetime_from_db(row[4])) for row in rows]
    return rows


def _attach(items: list[dict], affected: list[tuple], updates: list[tuple]) -> list[dict]:
    """Give each item its affected services (id, name, public name, status) and updates
    (id, status, body, created_at), in the order the rows came."""
    by_item: dict[int, list] = defaultdict(list)
    for item_id, *rest in affected:
        by_item[item_id].append(tuple(rest))
    updates_by: dict[int, list] = defaultdict(list)
    for item_id, *rest in updates:
        updates_by[item_id].append(tuple(rest))
    for item in items:
        item["affected"] = by_item.get(item["id"], [])
        item["updates"] = updates_by.get(item["id"], [])
    return items


def incidents_open_or_since(since: datetime) -> list[dict]:
    """Unresolved incidents, and resolved ones started or resolved since ``since``."""
    return _incidents(
        "i.status NOT IN (%s, %s) OR i.started_at >= %s OR i.resolved_at >= %s",
        [*RESOLVED, since, since],
    )


def incidents_recent(limit: int) -> list[dict]:
    return _incidents(limit=limit)


def incident_by_id(pk: int) -> dict | None:
    found = _incidents("i.id = %s", [pk])
    return found[0] if found else None


def incidents_started_between(start: datetime, end: datetime) -> list[dict]:
    return _incidents("i.started_at >= %s AND i.started_at < %s", [start, end])


# ---------------------------------------------------------------------- maintenance


def _maintenances(condition: str = "", params: Sequence[Any] = (), *, limit: int | None = None):
    """Published maintenance windows matching ``condition`` (SQL on alias m), latest
    scheduled first, each with ``affected`` (public services only, in page order; their
    status under_maintenance) and ``updates`` (newest first). Three queries."""
    windows = _published(
        Maintenance._meta.db_table, "m", MAINTENANCE_COLUMNS, "m.scheduled_for DESC, m.id DESC",
        condition, params, limit,
    )  # fmt: skip
    if not windows:
        return windows
    ids = [row["id"] for row in windows]
    through = Maintenance.services.through._meta.db_table
    affected = _affected(
        "SELECT t.maintenance_id, s.id, s.name, s.public_name, 'under_maintenance' "  # noqa: S608
        f"FROM {through} t JOIN {Service._meta.db_table} s ON s.id = t.service_id",
        "t.maintenance_id",
        ids,
    )
    updates = _updates(MaintenanceUpdate._meta.db_table, "maintenance_id", ids)
    return _attach(windows, affected, updates)


def maintenances_open(now: datetime) -> list[dict]:
    """Windows not completed that are running or not over yet."""
    return _maintenances(
        "m.status <> %s AND (m.status IN (%s, %s) OR m.scheduled_until > %s)",
        [MaintenanceStatus.COMPLETED, *RUNNING_STATUSES, now],
    )


def maintenances_recent(limit: int) -> list[dict]:
    return _maintenances(limit=limit)


def maintenance_by_id(pk: int) -> dict | None:
    found = _maintenances("m.id = %s", [pk])
    return found[0] if found else None


def maintenances_scheduled_between(start: datetime, end: datetime) -> list[dict]:
    return _maintenances("m.scheduled_for >= %s AND m.scheduled_for < %s", [start, end])


# --------------------------------------------------------------------------- months


def earliest_published() -> list[datetime]:
    """When the first published incident started and the first published maintenance
    window was scheduled, for those that exist."""
    found = []
    for table, column in (
        (Incident._meta.db_table, "started_at"),
        (Maintenance._meta.db_table, "scheduled_for"),
    ):
        visible, params = published("x")
        sql = f"SELECT MIN(x.{column}) FROM {table} x WHERE {visible}"  # noqa: S608
        [(first,)] = _fetch(sql, params)
        if first is not None:
            found.append(datetime_from_db(first))
    return found
