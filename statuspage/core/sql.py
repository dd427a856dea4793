"""Fragments of plain SQL that several selectors build: one spelling each."""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Q
from django.db.models.expressions import RawSQL


def id_in(column: str, ids: Sequence[int]) -> tuple[str, list]:
    """``column`` is one of ``ids``: the condition and its parameters.

    PostgreSQL gets one array parameter: the driver re-parses every statement with more than
    50 parameters, so a long IN list costs time on each call. The array is cast to bigint[]:
    left to the driver it would be int2[] or int4[], and the planner then picks a slower plan.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def in_ids(field: str, ids: Sequence[int]) -> Q:
    """``field`` is one of ``ids``, for the ORM: on PostgreSQL one array parameter (see
    ``id_in``), where ``field__in=ids`` would send one parameter per id."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])})
    return Q(**{f"{field}__in": list(ids)})


def sums(columns: Iterable[str], prefix: str = "") -> str:
    """``SUM(prefix + column)`` for each column, comma-separated, in the columns' order."""
    return ", ".join(f"SUM({prefix}{name})" for name in columns)


def array_cursor() -> CursorWrapper:
    """A cursor of Django's PostgreSQL connection whose parameters the server binds, each
    ``%b`` one sent in binary.

    Django's cursors bind on the client: every parameter becomes a literal in the statement's
    text, so an array of thousands of values is spelled out element by element in Python.
    Statements that pass whole columns as arrays (``unnest``) send them as ``%b`` instead:
    packed in binary, about four times cheaper. Queries are logged and errors wrapped as for
    any Django cursor, in the connection's transaction.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.Cursor(connection.connection))
