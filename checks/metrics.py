"""Every check's state in the Prometheus text format, read in one query per scrape.

Written out directly rather than through prometheus_client's metric families: with one
line per check and family, the library's per-sample label checks cost most of a scrape.
"""

from checks.models import Check, State

UP_STATES = {State.UP, State.DEGRADED}
HEADERS = {
    "up": "1 when the check's state is up or degraded.",
    "latency_seconds": "Latency of the check's last measured probe.",
    "state": "The check's current state (one sample per check, value 1).",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def checks_exposition() -> str:
    """Up (0/1), last latency and state of each enabled check.

    The state is one sample per check with the current state as a label, not one sample
    per possible state: ``count by (state)`` answers the same question from less output.
    """
    rows = Check.objects.filter(is_enabled=True).values_list(
        "id", "name", "service__slug", "kind", "state", "last_latency_ms"
    )
    up, latency, state = [], [], []
    for check_id, name, service, kind, current, latency_ms in rows:
        labels = f'check_id="{check_id}",check="{_escape(name)}",service="{service}",kind="{kind}"'
        up.append(f"statuspage_check_up{{{labels}}} {1 if current in UP_STATES else 0}\n")
        state.append(f'statuspage_check_state{{{labels},state="{current}"}} 1\n')
        if latency_ms is not None:
            latency.append(f"statuspage_check_latency_seconds{{{labels}}} {latency_ms / 1000}\n")
    parts = []
    for suffix, lines in (("up", up), ("latency_seconds", latency), ("state", state)):
        name = f"statuspage_check_{suffix}"
        parts.append(f"# HELP {name} {HEADERS[suffix]}\n# TYPE {name} gauge\n")
        parts.extend(lines)
    return "".join(parts)
