"""Datetimes for raw SQL, in the form the ORM stores and returns them.

SQLite keeps datetimes as text and compares them as text: a parameter must be written
exactly as the ORM writes the column ("2026-11-26 10:00:00", no offset), or equal times
compare unequal; a column read back is naive. PostgreSQL takes and gives aware
datetimes as they are.
"""

from datetime import datetime
from typing import Any

from django.db import connection


def db_datetime(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def datetime_from_db(value: Any) -> datetime | None:
    """A datetime column read by raw SQL, as the ORM would return it (aware). SQLite's
    driver gives the text or, for a column declared datetime, a naive datetime."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)
