"""Every check's state for Prometheus, read from the database in one query per scrape."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from checks.models import Check, State

LABELS = ["check_id", "check", "service", "kind"]
UP_STATES = {State.UP, State.DEGRADED}


class CheckCollector:
    """Up (0/1), last latency and state of each enabled check.

    The state is one sample per check with the current state as a label (value 1), not
    one sample per possible state: ``count by (state)`` answers the same question with a
    fifth of the output.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "statuspage_check_up", "1 when the check's state is up or degraded.", labels=LABELS
        )
        latency = GaugeMetricFamily(
            "statuspage_check_latency_seconds",
            "Latency of the check's last measured probe.",
            labels=LABELS,
        )
        state = GaugeMetricFamily(
            "statuspage_check_state", "The check's current state.", labels=[*LABELS, "state"]
        )
        rows = Check.objects.filter(is_enabled=True).values_list(
            "id", "name", "service__slug", "kind", "state", "last_latency_ms"
        )
        for check_id, name, service, kind, current, latency_ms in rows:
            labels = [str(check_id), name, service, kind]
            up.add_metric(labels, 1 if current in UP_STATES else 0)
            state.add_metric([*labels, current], 1)
            if latency_ms is not None:
                latency.add_metric(labels, latency_ms / 1000)
        yield up
        yield latency
        yield state
