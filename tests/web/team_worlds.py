"""Worlds of the team pages' tests: a fixed clock, rollups, check states, deployments, a
catalog of many services, and how to find rows in the page's HTML."""

import re
from datetime import UTC, datetime, timedelta

from checks.histogram import bucket_of
from checks.models import Check, DeploymentImpact, Kind, Rollup, State, Verdict
from statuspage.catalog.models import Deployment, OwnerNote, Service, Tier

NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)


def histogram_at(latency_ms: float, count: int) -> dict[str, int]:
    """Rollup histogram columns with ``count`` results in the bucket of ``latency_ms``."""
    return {f"h{bucket_of(latency_ms):02d}": count}


def rollup(check: Check, start: datetime, *, period="hour", up=60, down=0, latency_ms=120.0):
    return Rollup(
        check_ref=check,
        period=period,
        start=start,
        up=up,
        down=down,
        latency_sum_ms=latency_ms * up,
        latency_count=up,
        **histogram_at(latency_ms, up),
    )


def set_state(check: Check, state: str, *, latency_ms: float | None = None, detail: str = ""):
    Check.objects.filter(pk=check.pk).update(
        state=state,
        last_latency_ms=latency_ms,
        last_checked_at=NOW - timedelta(seconds=30),
        last_outcome={State.UP: 1, State.DEGRADED: 2, State.DOWN: 3}.get(state),
        last_detail=detail,
    )


def deploy(service: Service, version: str, *, at: datetime, verdict: str | None = None, **impact):
    deployment = Deployment.objects.create(
        service=service, version=version, deployed_at=at, deployed_by="ci", reason="Cache lookups"
    )
    if verdict:
        DeploymentImpact.objects.create(
            deployment=deployment,
            window_s=1800,
            computed_at=at + timedelta(hours=1),
            verdict=verdict,
            reason="p95 moved",
            **impact,
        )
    return deployment


def bulk_catalog(team, count: int, *, prefix: str = "bulk") -> list[Service]:
    """``count`` services, each with owner notes, an HTTP check with rollups, a heartbeat,
    and a deployment with its impact: every column of the page has something to read."""
    tiers = list(Tier.values)
    services = Service.objects.bulk_create(
        Service(slug=f"{prefix}-{i:04d}", name=f"{prefix} {i:04d}", team=team, tier=tiers[i % 4])
        for i in range(count)
    )
    OwnerNote.objects.bulk_create(OwnerNote(service=s, rollback_note="Redeploy") for s in services)
    http = Check.objects.bulk_create(
        Check(
            service=s,
            name="health",
            kind=Kind.HTTP,
            config={"url": "http://127.0.0.1:9/health"},
            degraded_ms=300,
            state=[State.UP, State.DOWN, State.DEGRADED][i % 3],
            last_latency_ms=100 + i,
        )
        for i, s in enumerate(services)
    )
    Check.objects.bulk_create(
        Check(service=s, name="job", kind=Kind.HEARTBEAT, interval_s=300, state=State.UP)
        for s in services
    )
    hour, day = NOW.replace(minute=0), NOW.replace(hour=0, minute=0)
    Rollup.objects.bulk_create(
        [rollup(c, hour - timedelta(hours=h)) for c in http for h in (0, 1, 30)]
        + [rollup(c, day - timedelta(days=d), period="day") for c in http for d in (0, 3)]
    )
    deployments = Deployment.objects.bulk_create(
        Deployment(service=s, version="1.0", deployed_at=NOW - timedelta(hours=3), deployed_by="ci")
        for s in services
    )
    DeploymentImpact.objects.bulk_create(
        DeploymentImpact(deployment=d, window_s=1800, computed_at=NOW, verdict=Verdict.UNCHANGED)
        for d in deployments
    )
    return services


def rows_in_order(html: str) -> list[str]:
    return re.findall(r'<a id="svc-([\w-]+)"', html)


def row_of(html: str, slug: str) -> str:
    start = html.index(f'id="svc-{slug}"')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]
