"""Run a batch of claimed checks: probes concurrently on one event loop, then one write.

Each worker thread keeps its own event loop and HTTP session between batches, so
keep-alive connections and DNS answers are reused from one batch to the next.
"""

import asyncio
import atexit
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from django.conf import settings

from checks.definitions import DefinitionError, allow_private_targets, target_build
from checks.kinds import KINDS
from checks.models import Check, Outcome
from checks.probes.base import ProbeResult, Target
from checks.probes.http import make_http_session
from checks.scheduling import Claim
from checks.screening import Allowlist
from checks.services import Observation, RecordSummary, results_record
from statuspage.core.metrics import schedule_lag_observe
from statuspage.core.sql import in_ids

logger = logging.getLogger(__name__)

OUTCOMES = {"up": Outcome.UP, "degraded": Outcome.DEGRADED, "down": Outcome.DOWN}

# A batch queued more than this before the worker that takes it started waited while no
# worker took batches (the worker stopped or died, and beat went on claiming): its slots are
# recorded as gaps, whatever PROBE_MAX_LATENESS_S allows a worker that fell behind.
STARTUP_GRACE_S = 10.0


class _Worker:
    """When the worker running this process started (``worker_started``); None outside a
    Celery worker, where no batch can have waited for one."""

    started_at: float | None = None


_worker = _Worker()


def worker_started(at: float | None) -> None:
    """Called as a Celery worker boots, before its pool processes start (None: no worker)."""
    _worker.started_at = at


def worker_started_at() -> float | None:
    return _worker.started_at


@dataclass(frozen=True)
class Job:
    claim: Claim
    kind: str
    target: Target | None
    timeout: float
    invalid: str = ""


class _LoopState(threading.local):
    loop: asyncio.AbstractEventLoop | None = None
    session: aiohttp.ClientSession | None = None


_state = _LoopState()


def runner_close() -> None:
    """Close this thread's HTTP session and event loop (at exit, or in tests)."""
    loop, session = _state.loop, _state.session
    if loop is None or loop.is_closed():
        return
    if session is not None and not session.closed:
        loop.run_until_complete(session.close())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    _state.loop = _state.session = None


# Close cleanly when the worker process exits, so no "unclosed session" noise at shutdown.
atexit.register(runner_close)


def _loop() -> asyncio.AbstractEventLoop:
    if _state.loop is None or _state.loop.is_closed():
        _state.loop = asyncio.new_event_loop()
        _state.session = None
    return _state.loop


async def _session() -> aiohttp.ClientSession:
    if _state.session is None or _state.session.closed:
        _state.session = make_http_session(limit=settings.PROBE_CONCURRENCY)
    return _state.session


def jobs_for(claims: Iterable[Claim]) -> list[Job]:
    """Turn claims into jobs, dropping checks that were deleted, disabled or paused since."""
    by_id = {c.check_id: c for c in claims}
    rows = Check.objects.filter(
        in_ids("id", list(by_id)), is_enabled=True, is_paused=False, service__is_paused=False
    ).values_list("id", "kind", "config", "timeout_s", "degraded_ms")
    jobs = []
    for check_id, kind, config, timeout_s, degraded_ms in rows:
        try:
            target = target_build(kind, config or {}, degraded_ms=degraded_ms)
        except DefinitionError as exc:
            jobs.append(Job(by_id[check_id], kind, None, timeout_s, f"invalid definition: {exc}"))
            continue
        jobs.append(Job(by_id[check_id], kind, target, timeout_s))
    return jobs


async def run_one(
    kind: str,
    target: Target,
    *,
    timeout: float,
    session: aiohttp.ClientSession | None = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    """Run one probe. A bug in a probe becomes a "down" result (and a logged error), so
    one bad check cannot sink the rest of its batch."""
    check_kind = KINDS.get(kind)
    if check_kind is None or check_kind.probe is None:
        logger.error("probe.unknown_kind kind=%r", kind)
        return ProbeResult.down(f"unknown check kind {kind!r}")
    try:
        return await check_kind.probe(
            target, timeout=timeout, session=session, allow_private=allow_private
        )
    except Exception as exc:
        # The target is not logged: its headers may carry credentials.
        logger.exception("probe.error kind=%s target_type=%s", kind, type(target).__name__)
        return ProbeResult.down(f"probe error: {type(exc).__name__}")


async def _slot_reached(slot: int, most_s: float) -> None:
    """Wait until the slot's second begins: a claim is made up to DISPATCH_LEAD_S ahead so
    its probe can start on time. The wait is capped, so a clock ahead on the dispatcher's
    host delays a probe by no more than the lead."""
    delay = slot - time.time()
    if delay > 0:
        await asyncio.sleep(min(delay, most_s))


async def _probe_one(
    job: Job,
    session: aiohttp.ClientSession,
    limit: asyncio.Semaphore,
    allow_private: Allowlist | bool,
    location: str,
    wait_s: float,
) -> Observation:
    if wait_s:
        await _slot_reached(job.claim.slot, wait_s)
    async with limit:
        started = time.time()
        if job.target is None:
            result = ProbeResult.down(job.invalid)
        else:
            result = await run_one(
                job.kind, job.target, timeout=job.timeout, session=session,
                allow_private=allow_private,
            )  # fmt: skip
    return Observation(
        check_id=job.claim.check_id,
        slot=job.claim.slot,
        checked_at=started,
        outcome=OUTCOMES[result.outcome],
        latency_ms=result.latency_ms,
        status_code=result.status_code,
        detail=result.detail,
        location=location,
    )


async def _probe_all(
    jobs: list[Job], concurrency: int, location: str, wait_s: float
) -> list[Observation]:
    session = await _session()
    limit = asyncio.Semaphore(concurrency)
    allow_private = allow_private_targets()
    return await asyncio.gather(
        *(_probe_one(j, session, limit, allow_private, location, wait_s) for j in jobs)
    )


def observations_collect(
    jobs: list[Job],
    *,
    concurrency: int | None = None,
    location: str = "",
    at_slots: bool = False,
) -> list[Observation]:
    """Probe every job concurrently (never raises for a failing target); with
    ``at_slots``, each probe starts no earlier than its slot (see _slot_reached)."""
    if not jobs:
        return []
    concurrency = concurrency or settings.PROBE_CONCURRENCY
    wait_s = settings.DISPATCH_LEAD_S if at_slots else 0.0
    return _loop().run_until_complete(_probe_all(jobs, concurrency, location, wait_s))


@dataclass(frozen=True)
class BatchReport:
    probed: int
    failed: int  # probes whose outcome was down
    skipped: int  # slots too old to measure, recorded as gaps
    recorded: RecordSummary


def gap_observation(*, check_id: int, slot: int, detail: str, location: str = "") -> Observation:
    """A slot recorded as not measured, dated at the slot itself."""
    return Observation(
        check_id=check_id,
        slot=slot,
        checked_at=slot,
        outcome=Outcome.SKIPPED,
        detail=detail,
        location=location,
    )


def probe_batch_run(
    *,
    claims: list[Claim],
    now: float | None = None,
    location: str = "",
    at_slots: bool = False,
    queued_at: float | None = None,
) -> BatchReport:
    """Probe the claimed checks and record what was seen.

    With ``at_slots`` (the queued batches of the dispatcher, claimed a little ahead), each
    probe waits for its slot's second before it starts.

    A claim whose slot is older than PROBE_MAX_LATENESS_S (the batch waited in the broker,
    or was redelivered after its worker died) is not probed: a measurement taken now is not
    what its slot looked like, so the slot is recorded as a gap instead. So is every claim
    of a batch queued (``queued_at``) more than STARTUP_GRACE_S before this worker started:
    it waited while no worker ran. ``location`` names the location the results are from,
    for checks with several (checks.locations).
    """
    now = time.time() if now is None else now
    max_late = settings.PROBE_MAX_LATENESS_S
    started = worker_started_at()
    waited = (
        started - queued_at
        if started is not None and queued_at is not None and queued_at < started - STARTUP_GRACE_S
        else None
    )
    jobs = []
    stale = []
    for job in jobs_for(claims):
        slot = job.claim.slot
        late = now - slot
        if late > max_late:
            detail = f"skipped: ran {late:.0f}s late"
        elif waited is not None:
            detail = f"skipped: queued {waited:.0f}s before a worker started"
        else:
            jobs.append(job)
            continue
        stale.append(
            gap_observation(
                check_id=job.claim.check_id, slot=slot, detail=detail, location=location
            )
        )
    observations = observations_collect(jobs, location=location, at_slots=at_slots)
    schedule_lag_observe(o.checked_at - o.slot for o in observations)
    failed = sum(o.outcome == Outcome.DOWN for o in observations)
    recorded = results_record(observations=[*observations, *stale])
    return BatchReport(len(jobs), failed, len(stale), recorded)
