"""Demo checks for the demo catalog. They watch this app's own endpoints and the local
demo target (statuspage/core/demo_target.py, which `make run` starts on PORT + 1), so a
fresh demo shows real results on any machine: mostly healthy, one deliberately slow
endpoint and one deliberately failing one, named so.

Seeding is idempotent per (service, check name): missing demo checks are created, demo
checks whose address no longer follows the port are pointed at it again, and services
that are not demo services are never touched.
"""

from dataclasses import dataclass, field

from django.db import transaction

from checks.models import Check, Kind
from statuspage.catalog.demo import DEMO_SERVICES, demo_services
from statuspage.catalog.models import Service


@dataclass(frozen=True)
class DemoCheck:
    name: str
    kind: str
    # Strings may hold {app} (this app's base URL) and {target} (the demo target's);
    # the string "{port}" becomes this app's port number.
    config: dict
    extra: dict = field(default_factory=dict)


# The fillers of `--services N` watch the demo target, which answers many probes cheaply,
# at a relaxed interval so thousands of them stay healthy on a small machine.
FILLER_CHECK = DemoCheck(
    "health", Kind.HTTP, {"url": "{target}/health"}, {"interval_s": 300, "timeout_s": 10}
)
CURATED: dict[str, list[DemoCheck]] = {
    "checkout-api": [
        DemoCheck("health", Kind.HTTP, {"url": "{app}/health", "conditions": ["ok == true"]},
                  {"degraded_ms": 300}),
    ],
    "payment-webhooks": [
        DemoCheck("queue depth", Kind.HTTP,
                  {"url": "{target}/queue", "conditions": ["depth < 100"]}),
    ],
    "auth": [
        DemoCheck("sign-in page", Kind.HTTP,
                  {"url": "{app}/accounts/login/", "expected_statuses": [200]},
                  {"degraded_ms": 500}),
    ],
    "user-profile": [
        DemoCheck("deliberately slow endpoint", Kind.HTTP,
                  {"url": "{target}/deliberately-slow"}, {"degraded_ms": 300}),
    ],
    "nightly-export": [
        DemoCheck("nightly run", Kind.HEARTBEAT, {},
                  {"cron": "0 2 * * *", "grace_s": 1800, "failures_before_down": 1}),
    ],
    "search-indexer": [
        DemoCheck("port open", Kind.TCP, {"host": "127.0.0.1", "port": "{port}"}),
        DemoCheck("deliberately failing endpoint", Kind.HTTP,
                  {"url": "{target}/deliberately-failing", "expected_statuses": [200]}),
    ],
    "storefront": [
        DemoCheck("home page", Kind.HTTP, {"url": "{target}/", "expected_statuses": [200]},
                  {"degraded_ms": 500}),
    ],
}  # fmt: skip


def demo_check_specs(slug: str) -> list[DemoCheck]:
    return CURATED.get(slug, [FILLER_CHECK])


def demo_config(spec: DemoCheck, *, port: int) -> dict:
    urls = {"app": f"http://127.0.0.1:{port}", "target": f"http://127.0.0.1:{port + 1}"}
    filled = {}
    for key, value in spec.config.items():
        if value == "{port}":
            filled[key] = port
        elif isinstance(value, str):
            filled[key] = value.format(**urls)
        else:
            filled[key] = value
    return filled


def _is_local(config: dict) -> bool:
    url = str(config.get("url", ""))
    return url.startswith("http://127.0.0.1:") or config.get("host") == "127.0.0.1"


def _demo_owned(check: Check, specs: list[DemoCheck]) -> bool:
    """A check the demo made: one of its names, and local (or a heartbeat)."""
    named = any(spec.name == check.name and spec.kind == check.kind for spec in specs)
    return named and (check.kind == Kind.HEARTBEAT or _is_local(check.config))


@transaction.atomic
def demo_checks_seed(*, services: int, port: int) -> tuple[list[Check], int]:
    """Create the missing demo checks of the first ``services`` demo services and point
    existing ones at ``port``. Returns (checks created, checks updated).

    A service that has any check the demo did not make (say, from `sync_catalog`) is
    someone else's now: it is left exactly as it is.
    """
    slugs = [spec.slug for spec in demo_services(max(services, len(DEMO_SERVICES)))]
    by_id = {s.id: s for s in Service.objects.filter(slug__in=slugs).only("id", "slug")}
    existing: dict[int, list[Check]] = {service_id: [] for service_id in by_id}
    for check in Check.objects.filter(service__in=by_id):
        existing[check.service_id].append(check)
    new, changed = [], []
    for service_id, service in by_id.items():
        specs = demo_check_specs(service.slug)
        checks = existing[service_id]
        if not all(_demo_owned(check, specs) for check in checks):
            continue
        names = {check.name: check for check in checks}
        for spec in specs:
            config = demo_config(spec, port=port)
            check = names.get(spec.name)
            if check is None:
                new.append(
                    Check(
                        service=service,
                        name=spec.name,
                        kind=spec.kind,
                        config=config,
                        **{"interval_s": 60, "timeout_s": 5, **spec.extra},
                    )
                )
            elif check.config != config:
                check.config = config
                changed.append(check)
    for check in [*new, *changed]:
        check.full_clean()
    created = Check.objects.bulk_create(new, batch_size=1000)
    Check.objects.bulk_update(changed, ["config"], batch_size=1000)
    return created, len(changed)
