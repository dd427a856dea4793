"""The outcome of a slot of a check with several locations, decided by a quorum of them.

Each location stores what it saw as its own result row. The slot's outcome (the row with
the empty location, the only one the state machine, rollups and pages read) is decided as
soon as the reports allow, by whichever write brings the deciding report:

- down, once ``quorum`` locations saw it down;
- up (or degraded, when most successful locations saw it slow), once so many locations
  saw it succeed that the rest can no longer make a quorum of failures.

A slot still undecided when the gap sweep reaches it (a location never reported, or
reported too late to be measured) is settled there (``slots_settle``): the locations that
did not report can no longer make a quorum of failures, so a slot with a success is up;
one with failures only, fewer than the quorum, is recorded as a gap like any unmeasured
slot. A location that cannot tell is not an outage.

The outcome row is unique per slot and inserted with ON CONFLICT DO NOTHING, and the
writers of one check's reports take its row lock before reading them, so a slot is decided
once and moves the state at most once.
"""

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from checks.locations import DECIDED, check_locations, quorum_needed
from checks.models import Check, Outcome, Result
from checks.observations import Observation

_SUCCESS = (Outcome.UP, Outcome.DEGRADED)


@dataclass(frozen=True)
class Report:
    location: str
    checked_at: float
    outcome: int
    latency_ms: float | None
    status_code: int | None
    detail: str


def slot_decide(
    *, check_id: int, slot: int, reports: list[Report], locations: int, quorum: int
) -> Observation | None:
    """The slot's outcome from its locations' reports, or None while it is undecided."""
    down = [r for r in reports if r.outcome == Outcome.DOWN]
    ok = [r for r in reports if r.outcome in _SUCCESS]
    if len(down) >= quorum:
        chosen, outcome = down, Outcome.DOWN
        detail = f"down from {len(down)} of {locations} locations: " + "; ".join(
            f"{r.location}: {r.detail}" for r in down
        )
    elif len(ok) > locations - quorum:
        slow = [r for r in ok if r.outcome == Outcome.DEGRADED]
        outcome = Outcome.DEGRADED if 2 * len(slow) > len(ok) else Outcome.UP
        chosen = slow if outcome == Outcome.DEGRADED else ok
        # A plain success's detail is not stored per location (checks.services).
        detail = chosen[0].detail
        if down:
            detail = f"{outcome.label} from {len(ok)} of {locations} locations; down only " + (
                "from " + "; ".join(f"{r.location}: {r.detail}" for r in down)
            )
    else:
        return None
    latencies = [r.latency_ms for r in chosen if r.latency_ms is not None]
    return Observation(
        check_id=check_id,
        slot=slot,
        checked_at=min(r.checked_at for r in chosen),
        outcome=outcome,
        latency_ms=median(latencies) if latencies else None,
        status_code=chosen[0].status_code,
        detail=detail[:500],
        location=DECIDED,
    )


def slot_outcomes_decide(located: list[Observation]) -> list[Observation]:
    """The outcomes of the slots that the freshly stored location results decide.

    1. Lock the checks concerned in id order: a second location's report for the same slot,
       stored by a concurrent transaction, is then read here once that one has committed.
    2. Read every location's report of those slots, keeping the check's current locations.
    3. Decide each slot (``slot_decide``); undecided slots wait for more reports.
    Must run inside the transaction that stored ``located``.
    """
    pairs = {(o.check_id, o.slot) for o in located}
    locked = _locked({check_id for check_id, _ in pairs})
    checks = {check_id: check_locations(names) for check_id, names, _ in locked}
    quorums = {check_id: quorum for check_id, _, quorum in locked}
    reports = {
        key: [r for r in found if r.location in checks.get(key[0], ())]
        for key, found in _reports(pairs).items()
    }
    decided = []
    for (check_id, slot), found in sorted(reports.items()):
        count = len(checks[check_id])
        outcome = slot_decide(
            check_id=check_id,
            slot=slot,
            reports=found,
            locations=count,
            quorum=quorum_needed(locations=count, override=quorums[check_id]),
        )
        if outcome is not None:
            decided.append(outcome)
    return decided


def _locked(check_ids: set[int]) -> list[tuple[int, list[str], int | None]]:
    return list(
        Check.objects.select_for_update()
        .filter(id__in=sorted(check_ids))
        .order_by("id")
        .values_list("id", "locations", "quorum")
    )


def _reports(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[Report]]:
    """(check, slot) -> every location's report of that slot, in one query (a range of
    slots per check on the unique index)."""
    if not pairs:
        return {}
    rows = (
        Result.objects.filter(
            check_ref_id__in={check_id for check_id, _ in pairs},
            slot__gte=min(slot for _, slot in pairs),
            slot__lte=max(slot for _, slot in pairs),
        )
        .exclude(location=DECIDED)
        .values_list("check_ref_id", "slot", "location", "checked_at", "outcome", "latency_ms",
                     "status_code", "detail")
    )  # fmt: skip
    reports: dict[tuple[int, int], list[Report]] = defaultdict(list)
    for check_id, slot, location, at, outcome, latency, code, detail in rows:
        if (check_id, slot) in pairs:
            reports[check_id, slot].append(
                Report(location, at.timestamp(), outcome, latency, code, detail)
            )
    return reports


def slots_settle(gaps: list[Observation], *, several: set[int]) -> list[Observation]:
    """The gap sweep's observations, with each slot of the checks with ``several``
    locations that its locations' reports settle replaced by that outcome (see the module
    doc). One query, none when no check has several locations."""
    reports = _reports({(o.check_id, o.slot) for o in gaps if o.check_id in several})
    settled = []
    for gap in gaps:
        found = reports.get((gap.check_id, gap.slot), [])
        ok = sum(r.outcome in _SUCCESS for r in found)
        # Only the locations that reported count now, and a quorum of one more than their
        # failures: a success among them settles the slot as up (or degraded), since the
        # silent ones can no longer add failures; failures alone leave the gap.
        outcome = ok and slot_decide(
            check_id=gap.check_id, slot=gap.slot, reports=found, locations=len(found),
            quorum=len(found) - ok + 1,
        )  # fmt: skip
        settled.append(outcome or gap)
    return settled
