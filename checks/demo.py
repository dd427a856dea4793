"""Demo checks for the demo catalog: most watch this app's own endpoints, so a fresh
`make run` shows real results within a minute; a heartbeat nobody pings shows a failing job.
"""

from django.db import transaction

from checks.models import Check, Kind
from statuspage.catalog.demo import DEMO_SERVICES
from statuspage.catalog.models import Service

# slug -> [(name, kind, config (with {base} and {port} filled in), extra fields)]
_CURATED: dict[str, list[tuple[str, str, dict, dict]]] = {
    "checkout-api": [
        ("health", Kind.HTTP, {"url": "{base}/health", "conditions": ["ok == true"]},
         {"degraded_ms": 300}),
    ],
    "payment-webhooks": [
        ("webhook consumer heartbeat", Kind.HEARTBEAT, {}, {"interval_s": 300, "grace_s": 120,
                                                            "failures_before_down": 1}),
    ],
    "auth": [("ready", Kind.HTTP, {"url": "{base}/ready", "expected_statuses": [200]}, {})],
    "user-profile": [
        # A threshold no real request meets: the demo shows what "slow" looks like.
        ("health", Kind.HTTP, {"url": "{base}/health"}, {"degraded_ms": 1}),
    ],
    "nightly-export": [
        ("nightly run", Kind.HEARTBEAT, {}, {"cron": "0 2 * * *", "grace_s": 1800,
                                             "failures_before_down": 1}),
    ],
    "search-indexer": [("port open", Kind.TCP, {"host": "127.0.0.1", "port": "{port}"}, {})],
    "storefront": [
        ("sign-in page", Kind.HTTP, {"url": "{base}/accounts/login/", "expected_statuses": [200]},
         {"degraded_ms": 500}),
    ],
}  # fmt: skip


def _fill(config: dict, base: str, port: int) -> dict:
    filled = {}
    for key, value in config.items():
        if value == "{port}":
            filled[key] = port
        elif isinstance(value, str):
            filled[key] = value.format(base=base)
        else:
            filled[key] = value
    return filled


@transaction.atomic
def demo_checks_seed(*, base_url: str, port: int) -> int:
    """Give every demo service without checks its demo checks. Returns checks created."""
    curated = {spec.slug for spec in DEMO_SERVICES}
    services = Service.objects.filter(checks__isnull=True).only("id", "slug")
    new = []
    for service in services:
        specs = _CURATED.get(service.slug)
        if specs is None and service.slug in curated:
            continue
        for name, kind, config, extra in specs or [
            ("health", Kind.HTTP, {"url": "{base}/health"}, {})
        ]:
            new.append(
                Check(
                    service=service,
                    name=name,
                    kind=kind,
                    config=_fill(config, base_url.rstrip("/"), port),
                    **{"interval_s": 60, "timeout_s": 5, **extra},
                )
            )
    for check in new:
        check.full_clean()
    Check.objects.bulk_create(new, batch_size=1000)
    return len(new)
