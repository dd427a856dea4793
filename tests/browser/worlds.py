"""Worlds of the browser tests: a realistic catalog of the team pages (mixed states, 90 days
of history, deployments with verdicts, status changes, maintenance, owner notes)."""

import math
from datetime import timedelta

from django.utils import timezone

from checks.histogram import BUCKET_BOUNDS_MS, bucket_of
from checks.models import Check, DeploymentImpact, Kind, Rollup, State, Transition, Verdict
from statuspage.catalog.models import Deployment, OwnerNote, Tier
from statuspage.core.days import day_of, day_start
from statuspage.incidents.models import Maintenance, MaintenanceStatus
from tests.factories import make_service, make_team

# slug, team, tier, state of its HTTP check (None: no HTTP check), latency now (ms)
SERVICES = [
    ("checkout-api", "payments", Tier.CRITICAL, State.UP, 118.0),
    ("payment-webhooks", "payments", Tier.HIGH, State.UP, 64.0),
    ("sign-in", "identity", Tier.CRITICAL, State.DOWN, None),
    ("user-profile", "identity", Tier.NORMAL, State.DEGRADED, 480.0),
    ("search-api", "search", Tier.HIGH, State.UP, 41.0),
    ("search-indexer", "search", Tier.NORMAL, State.UP, 22.0),
    ("nightly-export", "data", Tier.LOW, None, None),
    ("storefront", "web", Tier.CRITICAL, State.UP, 236.0),
    ("recommendations", "web", Tier.NORMAL, State.UNKNOWN, None),
    ("email-sender", "data", Tier.NORMAL, State.DOWN, None),
    ("reports", "data", Tier.LOW, State.UP, 310.0),
    ("inventory", "payments", Tier.HIGH, State.UP, 87.0),
]


def spread(check, start, *, period="hour", base_ms: float, phase: float, up=60, down=0):
    """A rollup whose results spread over three latency buckets around ``base_ms``; the
    share in the slower bucket follows ``phase``, so latency drifts as real traffic does."""
    middle = bucket_of(base_ms)
    slow = 0.15 + 0.12 * math.sin(phase)
    counts = {middle - 1: round(up * 0.2), middle + 1: round(up * slow)}
    counts[middle] = up - sum(counts.values())
    scale = 1 if period == "hour" else 24
    bounds = (0.0, *BUCKET_BOUNDS_MS)
    total_ms = sum(n * (bounds[b] + bounds[b + 1]) / 2 for b, n in counts.items())
    return Rollup(
        check_ref=check,
        period=period,
        start=start,
        up=up * scale,
        down=down * scale,
        latency_sum_ms=total_ms * scale,
        latency_count=up * scale,
        **{f"h{bucket:02d}": n * scale for bucket, n in counts.items()},
    )


def seed() -> dict:
    """A realistic catalog: mixed states, 90 days of history, deployments with verdicts."""
    now = timezone.now()
    hour, day = now.replace(minute=0, second=0, microsecond=0), day_start(day_of(now))
    teams = {slug: make_team(slug) for slug in ("payments", "identity", "search", "data", "web")}
    made, rows = {}, []
    for index, (slug, team, tier, state, latency) in enumerate(SERVICES):
        service = make_service(slug, team=teams[team], tier=tier, is_paused=slug == "reports")
        made[slug] = service
        if state is None:
            continue
        check = Check.objects.create(
            service=service,
            name="health",
            kind=Kind.HTTP,
            config={"url": f"http://127.0.0.1:9/{slug}/health"},
            degraded_ms=300,
            state=state,
            state_changed_at=now - timedelta(hours=3),
            last_checked_at=None if state == State.UNKNOWN else now - timedelta(seconds=20),
            last_outcome={State.UP: 1, State.DEGRADED: 2, State.DOWN: 3}.get(state),
            last_latency_ms=latency,
            last_detail="connect: connection refused" if state == State.DOWN else "200 OK",
        )
        base = latency or 90.0
        for h in range(7 * 24):
            start = hour - timedelta(hours=h)
            # Busier afternoons (UTC) are a little slower.
            phase = (start.hour - 9) / 24 * 2 * math.pi + index
            rows.append(spread(check, start, base_ms=base, phase=phase))
        for d in range(90):
            bad = (d + index) % 37 == 0
            rows.append(
                spread(
                    check,
                    day - timedelta(days=d),
                    period="day",
                    base_ms=base * (1.4 if bad else 1.0),
                    phase=d / 5 + index,
                    up=56 if bad else 60,
                    down=4 if bad else 0,
                )
            )
    Rollup.objects.bulk_create(rows)
    for slug, interval, pinged, state in [
        ("payment-webhooks", 300, timedelta(minutes=40), State.DOWN),  # failing
        ("nightly-export", 86_400, timedelta(hours=2), State.UP),
        ("search-indexer", 600, timedelta(minutes=15), State.UP),  # late
    ]:
        Check.objects.create(
            service=made[slug],
            name="webhook consumer" if slug == "payment-webhooks" else "job heartbeat",
            kind=Kind.HEARTBEAT,
            interval_s=interval,
            grace_s=120,
            state=state,
            last_ping_at=now - pinged,
            last_checked_at=now - pinged,
            last_detail="job reported failure" if state == State.DOWN else "job reported success",
        )
    for slug, version, ago, verdict, numbers in [
        ("checkout-api", "2026.11.24-1", timedelta(days=2, hours=3), Verdict.IMPROVED,
         (142.0, 118.0, 260.0, 190.0)),
        ("checkout-api", "2026.11.20-2", timedelta(days=6), Verdict.UNCHANGED,
         (140.0, 142.0, 250.0, 260.0)),
        ("storefront", "2026.11.26-1", timedelta(hours=5), Verdict.REGRESSED,
         (150.0, 236.0, 290.0, 540.0)),
        ("sign-in", "4.12.0", timedelta(minutes=50), None, None),
    ]:  # fmt: skip
        deployment = Deployment.objects.create(
            service=made[slug],
            version=version,
            ref=version.replace(".", "")[:8],
            deployed_at=now - ago,
            deployed_by="ci-pipeline",
            reason="Cache product lookups",
            expected_metric="p95 latency",
        )
        if verdict:
            before_p50, after_p50, before_p95, after_p95 = numbers
            DeploymentImpact.objects.create(
                deployment=deployment,
                window_s=1800,
                computed_at=deployment.deployed_at + timedelta(minutes=30),
                before_count=30,
                after_count=30,
                before_p50_ms=before_p50,
                after_p50_ms=after_p50,
                before_p95_ms=before_p95,
                after_p95_ms=after_p95,
                before_uptime_pct=100.0,
                after_uptime_pct=100.0,
                verdict=verdict,
                reason="p95 compared over 30 minutes before and after",
            )
    check = Check.objects.get(service=made["checkout-api"], kind=Kind.HTTP)
    Transition.objects.bulk_create(
        Transition(check_ref=check, from_state=before, to_state=after, at=now - ago, reason=why)
        for before, after, ago, why in [
            (State.DEGRADED, State.UP, timedelta(hours=26), "1 success(es) in a row"),
            (State.UP, State.DEGRADED, timedelta(hours=27), "slower than 300 ms: 412 ms"),
            (State.DOWN, State.UP, timedelta(days=3), "1 success(es) in a row"),
            (State.UP, State.DOWN, timedelta(days=3, minutes=4), "2 failure(s) in a row: timeout"),
        ]
    )
    window = Maintenance.objects.create(
        title="Mail relay upgrade",
        status=MaintenanceStatus.IN_PROGRESS,
        scheduled_for=now - timedelta(minutes=20),
        scheduled_until=now + timedelta(hours=1),
    )
    window.services.add(made["email-sender"])
    OwnerNote.objects.filter(service=made["sign-in"]).update(
        expected_result="GET /ready returns 200 within 150 ms.",
        rollback_note="Roll back to 4.11.3: `make deploy TAG=4.11.3`; sessions survive.",
        runbook="1. Check the identity provider status page.\n2. **Roll back** if 4.12.0 is live.",
        links="Dashboard https://grafana.example.com/d/sign-in",
    )
    return made
