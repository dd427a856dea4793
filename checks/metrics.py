"""Every check's state in the Prometheus text format, read in one query per scrape.

Written out directly rather than through prometheus_client's metric families: with one
line per check and family, the library's per-sample objects and label checks would cost
most of a scrape. The rows come through a plain cursor for the same reason (the ORM's
per-row iteration costs about as much as the query itself at this size), with the SQL
still compiled by the ORM so table and column names have one home.
"""

from django.db import connection

from checks.models import Check, State

UP_STATES = {State.UP, State.DEGRADED}
HEADERS = {
    "up": "1 when the check's state is up or degraded.",
    "latency_seconds": "Latency of the check's last measured probe.",
    "state": "The check's current state (one sample per check, value 1).",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _header(suffix: str) -> str:
    name = f"statuspage_check_{suffix}"
    return f"# HELP {name} {HEADERS[suffix]}\n# TYPE {name} gauge\n"


def _rows() -> list[tuple]:
    # No ORDER BY: sorting the rows by the model's default order costs more than reading them.
    query = (
        Check.objects.filter(is_enabled=True)
        .order_by()
        .values_list("id", "name", "service__slug", "kind", "state", "last_latency_ms")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def checks_exposition() -> bytes:
    """Up (0/1), last latency and state of each enabled check.

    The state is one sample per check with the current state as a label, not one sample
    per possible state: ``count by (state)`` answers the same question from less output.
    Each family is built by one comprehension over the rows, its label text shared.
    """
    rows = _rows()
    labels = [
        f'check_id="{check_id}",check="{_escape(name)}",service="{service}",kind="{kind}"'
        for check_id, name, service, kind, _, _ in rows
    ]
    up = [
        f"statuspage_check_up{{{text}}} {1 if row[4] in UP_STATES else 0}\n"
        for text, row in zip(labels, rows, strict=True)
    ]
    latency = [
        f"statuspage_check_latency_seconds{{{text}}} {row[5] / 1000}\n"
        for text, row in zip(labels, rows, strict=True)
        if row[5] is not None
    ]
    state = [
        f'statuspage_check_state{{{text},state="{row[4]}"}} 1\n'
        for text, row in zip(labels, rows, strict=True)
    ]
    parts = [_header("up"), *up, _header("latency_seconds"), *latency, _header("state"), *state]
    return "".join(parts).encode()
