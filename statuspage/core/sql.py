"""Fragments of plain SQL that several selectors build: one spelling each."""

from collections.abc import Iterable, Sequence

from django.db import connection


def id_in(column: str, ids: Sequence[int]) -> tuple[str, list]:
    """``column`` is one of ``ids``: the condition and its parameters.

    PostgreSQL gets one array parameter: the driver re-parses every statement with more than
    50 parameters, so a long IN list costs time on each call. The array is cast to bigint[]:
    left to the driver it would be int2[] or int4[], and the planner then picks a slower plan.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def sums(columns: Iterable[str], prefix: str = "") -> str:
    """``SUM(prefix + column)`` for each column, comma-separated, in the columns' order."""
    return ", ".join(f"SUM({prefix}{name})" for name in columns)
