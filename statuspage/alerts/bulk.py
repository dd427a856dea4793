"""Bulk statements of the delivery rounds, which touch hundreds of rows at once.

On PostgreSQL a list of ids travels as one array parameter and per-row values as arrays
unnested in the statement: the driver re-parses every statement with many parameters, and
a round would otherwise pay that on each of its statements. SQLite (the embedded default,
with small volumes) gets the plain forms.
"""

from django.db import connection
from django.db.models import Case, Value, When


def set_per_row(model, column: str, values: dict[int, object], sql_type: str) -> None:
    """``UPDATE model SET column = values[id] WHERE id IN values``, in one statement."""
    if not values:
        return
    table = model._meta.db_table
    ids, items = list(values), list(values.values())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {column} = v.value "  # noqa: S608 (names from the model)
                f"FROM unnest(%s::bigint[], %s::{sql_type}[]) AS v(id, value) WHERE t.id = v.id",
                [ids, items],
            )
        return
    model.objects.filter(pk__in=ids).update(
        **{column: Case(*(When(pk=i, then=Value(v)) for i, v in values.items()))}
    )
