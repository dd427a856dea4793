"""Datetimes for raw SQL parameters, in the form the ORM stores them.

SQLite keeps datetimes as text and compares them as text: a parameter must be written
exactly as the ORM writes the column ("2026-11-26 10:00:00", no offset), or equal times
compare unequal. PostgreSQL takes the datetime as it is.
"""

from datetime import datetime
from typing import Any

from django.db import connection


def db_datetime(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)
