"""What a probe, the heartbeat sweep or a ping saw for one slot of one check."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    """One slot of one check as seen from one location (empty: the slot's outcome)."""

    check_id: int
    slot: int
    checked_at: float  # epoch seconds when the probe started
    outcome: int  # checks.models.Outcome
    latency_ms: float | None = None
    status_code: int | None = None
    detail: str = ""
    location: str = ""
