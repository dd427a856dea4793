"""Did a deployment change anything? Before/after figures of its service, and a verdict.

Windows. A deployment at T, judged with window W (``DEPLOY_VERDICT_WINDOW_S``, 30 min by
default) once T + W has passed, compares the raw results of its service's checks in

    before: [T - W, T)        after: [T, T + W)

- The after window ends early at the next deployment of the same service, so the next
  version's figures are not mixed in; the reason says "judged up to the next deployment".
- The before window starts late at the previous deployment, so the baseline is the version
  that was replaced; the reason says so too.
- Only checks with results on both sides are compared: a check added, paused or deleted
  around the deployment would otherwise move the pooled figures on its own.

Figures, per side:
- p50 / p95 latency: exact percentiles (linear interpolation between ranks) of the
  latencies of results that were up or degraded. A failed probe's latency is a timeout or
  an error page; it counts in the failure rate instead.
- failure rate: % of results that were down.
- uptime: % of results that were up or degraded (the definition the status pages use). Over
  the same results it is 100 minus the failure rate, so it needs no rule of its own.

The rule, in this order:
1. insufficient_data: fewer than 10 results on either side. No verdict is guessed.
2. regressed, if any of:
   - p50 or p95 latency after > before x 1.25 and at least 20 ms more
     (latency rules need 10 latencies on each side);
   - failure rate up by 2 points or more, with at least 2 failed results after
     (equivalently: uptime down by 2 points or more).
3. improved, if the mirror of one of those holds and nothing regressed: latency before >
   after x 1.25 and at least 20 ms more, or failure rate down by 2 points or more with at
   least 2 failed results before.
4. unchanged otherwise.

Why these thresholds:
- 10 results per side: with the default 60 s interval a 30 min window has 30 results per
  check; 10 is a third of that. Fewer, and p95 is simply the slowest one or two requests.
- x 1.25 on latency: two quiet windows of one service differ by around 10-15 % in p95
  (p95 of 30 samples rests on the two slowest); a quarter is about twice that noise, and a
  quarter slower is what a person notices on a dashboard.
- +20 ms floor: a 4 ms health endpoint going to 6 ms is +50 % but noise of the network
  and event loop, and no user notices it; 20 ms is above that jitter on a LAN.
- +2 points and 2 failed results: a rolling restart commonly costs a single failed probe;
  one failure is not a regression, two are a pattern. 2 points is 1 in 50 requests.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from checks.listeners import verdict_written
from checks.models import DeploymentImpact, Outcome, Result, Verdict
from statuspage.catalog.models import Deployment

MIN_RESULTS = 10
LATENCY_RATIO = 1.25
LATENCY_MIN_DELTA_MS = 20.0
FAILURE_POINTS = 2.0
FAILURE_MIN_RESULTS = 2
# A result's slot is its scheduled time and never after its checked_at; a probe that ran
# more than this long after its slot is not counted. Bounding the slot lets the query use
# the (check_id, slot) index instead of scanning every check's results by time.
SLOT_LAG_S = 3600
# Deployments judged per task run; an old backlog (after an upgrade, say) drains over runs.
DUE_BATCH = 200
REASON_MAX = 300


@dataclass(frozen=True)
class Figures:
    """One side of the comparison."""

    count: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None
    latencies: int  # results with a latency (up or degraded)

    @property
    def failure_pct(self) -> float | None:
        return 100.0 * self.failed / self.count if self.count else None

    @property
    def uptime_pct(self) -> float | None:
        return 100.0 * (self.count - self.failed) / self.count if self.count else None


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[49], 2), round(cuts[94], 2)


def figures_of(rows: Iterable[tuple[int, float | None]]) -> Figures:
    """Figures of (outcome, latency_ms) pairs."""
    count = failed = 0
    latencies: list[float] = []
    for outcome, latency_ms in rows:
        if outcome == Outcome.SKIPPED:
            continue  # a gap says nothing about the service
        count += 1
        if outcome == Outcome.DOWN:
            failed += 1
        elif latency_ms is not None:
            latencies.append(latency_ms)
    p50, p95 = _percentiles(latencies)
    return Figures(count, failed, p50, p95, len(latencies))


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _latency_text(name: str, before: float, after: float) -> str:
    change = f" ({(after - before) / before * 100:+.0f}%)" if before > 0 else ""
    return f"{name} latency {_ms(before)} -> {_ms(after)}{change}"


def _failure_text(before: Figures, after: Figures) -> str:
    b, a = before.failure_pct or 0.0, after.failure_pct or 0.0
    return f"failure rate {b:.1f}% -> {a:.1f}% ({a - b:+.1f} points)"


def _slower(before: float, after: float) -> bool:
    return after > before * LATENCY_RATIO and after - before >= LATENCY_MIN_DELTA_MS


def verdict_for(before: Figures, after: Figures) -> tuple[str, str]:
    """The verdict and its reason for two sides' figures (the rule in the module docstring)."""
    if before.count < MIN_RESULTS or after.count < MIN_RESULTS:
        return Verdict.INSUFFICIENT_DATA, (
            f"too little data: {before.count} results before, {after.count} after "
            f"({MIN_RESULTS} needed on each side)"
        )
    worse: list[str] = []
    better: list[str] = []
    latency_notes: list[str] = []
    if before.latencies >= MIN_RESULTS and after.latencies >= MIN_RESULTS:
        for name in ("p95", "p50"):
            b, a = getattr(before, f"{name}_ms"), getattr(after, f"{name}_ms")
            text = _latency_text(name, b, a)
            latency_notes.append(text)
            if _slower(b, a):
                worse.append(text)
            elif _slower(a, b):
                better.append(text)
    failure_delta = (after.failure_pct or 0.0) - (before.failure_pct or 0.0)
    if failure_delta >= FAILURE_POINTS and after.failed >= FAILURE_MIN_RESULTS:
        worse.append(_failure_text(before, after))
    elif -failure_delta >= FAILURE_POINTS and before.failed >= FAILURE_MIN_RESULTS:
        better.append(_failure_text(before, after))
    if worse:
        return Verdict.REGRESSED, "; ".join(worse)
    if better:
        return Verdict.IMPROVED, "; ".join(better)
    notes = [*latency_notes[:1], _failure_text(before, after)]
    return Verdict.UNCHANGED, "within thresholds: " + ", ".join(notes)


@dataclass(frozen=True)
class Windows:
    before_start: datetime
    split: datetime
    after_end: datetime
    notes: tuple[str, ...]


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def _windows(deployment: Deployment, window: timedelta) -> Windows:
    """The comparison windows, cut at the neighbouring deployments of the same service."""
    at, pk = deployment.deployed_at, deployment.pk
    siblings = Deployment.objects.filter(service_id=deployment.service_id).only(
        "deployed_at", "version"
    )
    following = (
        siblings.filter(Q(deployed_at__gt=at) | Q(deployed_at=at, pk__gt=pk))
        .order_by("deployed_at", "pk")
        .first()
    )
    preceding = (
        siblings.filter(Q(deployed_at__lt=at) | Q(deployed_at=at, pk__lt=pk))
        .order_by("-deployed_at", "-pk")
        .first()
    )
    before_start, after_end, notes = at - window, at + window, []
    if following is not None and following.deployed_at < after_end:
        after_end = following.deployed_at
        notes.append(
            f"judged up to the next deployment ({following.version}), "
            f"{_minutes(after_end - at)} after"
        )
    if preceding is not None and preceding.deployed_at > before_start:
        before_start = preceding.deployed_at
        notes.append(
            f"baseline since the previous deployment ({preceding.version}), "
            f"{_minutes(at - before_start)} before"
        )
    return Windows(before_start, at, after_end, tuple(notes))


def _sides(deployment: Deployment, windows: Windows) -> tuple[Figures, Figures]:
    rows = Result.objects.filter(
        check_ref__service_id=deployment.service_id,
        slot__gte=int(windows.before_start.timestamp()) - SLOT_LAG_S,
        slot__lt=int(windows.after_end.timestamp()) + 1,
        checked_at__gte=windows.before_start,
        checked_at__lt=windows.after_end,
    ).values_list("check_ref_id", "checked_at", "outcome", "latency_ms")
    before: list[tuple[int, int, float | None]] = []
    after: list[tuple[int, int, float | None]] = []
    for check_id, checked_at, outcome, latency_ms in rows:
        side = before if checked_at < windows.split else after
        side.append((check_id, outcome, latency_ms))
    common = {row[0] for row in before} & {row[0] for row in after}
    return (
        figures_of((o, lat) for c, o, lat in before if c in common),
        figures_of((o, lat) for c, o, lat in after if c in common),
    )


def deployment_impact_compute(
    *, deployment: Deployment, window_s: int, now: datetime
) -> DeploymentImpact:
    """Compare the service before and after ``deployment``; store and return the impact.

    1. Bound the windows (cut at the neighbouring deployments of the same service).
    2. Read outcome and latency of the service's results in both windows, in one query,
       and keep the checks seen on both sides.
    3. Compute each side's figures and the verdict (the rule in the module docstring).
    4. Insert the impact row, or replace the one computed before.
    """
    windows = _windows(deployment, timedelta(seconds=window_s))
    before, after = _sides(deployment, windows)
    verdict, reason = verdict_for(before, after)
    reason = "; ".join([reason, *windows.notes])
    if len(reason) > REASON_MAX:
        reason = reason[: REASON_MAX - 1] + "…"
    impact, _ = DeploymentImpact.objects.update_or_create(
        deployment=deployment,
        defaults={
            "window_s": window_s,
            "computed_at": now,
            "before_count": before.count,
            "after_count": after.count,
            "before_p50_ms": before.p50_ms,
            "before_p95_ms": before.p95_ms,
            "after_p50_ms": after.p50_ms,
            "after_p95_ms": after.p95_ms,
            "before_failure_pct": before.failure_pct,
            "after_failure_pct": after.failure_pct,
            "before_uptime_pct": before.uptime_pct,
            "after_uptime_pct": after.uptime_pct,
            "verdict": verdict,
            "reason": reason,
        },
    )
    verdict_written(impact)
    return impact


def deployment_ids_due(*, now: datetime, window_s: int | None = None) -> list[int]:
    """Deployments whose window has passed and that have no impact yet, oldest first."""
    window = timedelta(seconds=window_s or settings.DEPLOY_VERDICT_WINDOW_S)
    return list(
        Deployment.objects.filter(impact__isnull=True, deployed_at__lte=now - window)
        .order_by("deployed_at", "pk")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )


def deployment_judge(
    *, deployment_id: int, now: datetime, window_s: int | None = None, replace: bool = False
) -> DeploymentImpact | None:
    """Judge one deployment. None if it is gone, its window has not passed yet, or (unless
    ``replace``) it was judged already. The row lock keeps it from being deleted meanwhile
    and makes a second, concurrent run wait and then find it judged."""
    window_s = window_s or settings.DEPLOY_VERDICT_WINDOW_S
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().filter(pk=deployment_id).first()
        if deployment is None or deployment.deployed_at + timedelta(seconds=window_s) > now:
            return None
        if not replace and DeploymentImpact.objects.filter(deployment=deployment).exists():
            return None
        return deployment_impact_compute(deployment=deployment, window_s=window_s, now=now)


@dataclass(frozen=True)
class JudgeSummary:
    judged: int
    regressed: int
    skipped: int  # gone, not due yet, or judged already


def deployments_judge(
    *, deployment_ids: list[int], now: datetime, window_s: int | None = None, replace: bool = False
) -> JudgeSummary:
    judged = regressed = 0
    for deployment_id in deployment_ids:
        impact = deployment_judge(
            deployment_id=deployment_id, now=now, window_s=window_s, replace=replace
        )
        if impact is None:
            continue
        judged += 1
        regressed += impact.verdict == Verdict.REGRESSED
    return JudgeSummary(judged, regressed, len(deployment_ids) - judged)


def deployments_judge_due(*, now: datetime | None = None, window_s: int | None = None) -> int:
    """Judge every deployment whose window has passed and that has no verdict yet."""
    now = now or timezone.now()
    ids = deployment_ids_due(now=now, window_s=window_s)
    return deployments_judge(deployment_ids=ids, now=now, window_s=window_s).judged
