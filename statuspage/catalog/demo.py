"""A demo catalog: a few realistic teams and services, or thousands for benchmarks.

Names and notes are fixed (no randomness) so a demo looks the same on every machine and
a second run finds everything already there.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from statuspage.catalog.models import OwnerNote, Service, Team, Tier


@dataclass(frozen=True)
class DemoService:
    slug: str
    name: str
    team: str
    tier: str
    group: str
    description: str
    expected_result: str
    rollback_note: str
    # Internal services show on the team page only; the demo's deliberately slow and
    # failing checks live on these, so the public page shows no outage of its own making.
    is_public: bool = True


DEMO_TEAMS = {
    "payments": ("Payments", "#payments-oncall", "Page the payments on-call via the rota."),
    "identity": ("Identity", "#identity", "Escalate to the platform lead after 15 minutes."),
    "data": ("Data platform", "#data-eng", "Jobs can wait an hour; the warehouse cannot."),
    "web": ("Web", "#web-team", "Front-end on-call, then the engineering manager."),
}

DEMO_SERVICES = [
    DemoService(
        "checkout-api",
        "Checkout API",
        "payments",
        Tier.CRITICAL,
        "Payments",
        "FastAPI service behind the checkout page.",
        'GET /health returns 200 with {"ok": true} in under 150 ms.',
        "Redeploy the previous image tag with `make deploy TAG=<previous>`; "
        "no migrations to reverse.",
    ),
    DemoService(
        "payment-webhooks",
        "Payment webhooks",
        "payments",
        Tier.HIGH,
        "Payments",
        "Celery worker consuming provider webhooks.",
        "Queue depth under 100 and the heartbeat every 5 minutes.",
        "Pause the consumer, redeploy the previous tag, resume; webhooks are retried.",
    ),
    DemoService(
        "auth",
        "Sign-in",
        "identity",
        Tier.CRITICAL,
        "Accounts",
        "Django app serving sign-in and sessions.",
        "GET /health returns 200; login p95 under 300 ms.",
        "Roll back with `kubectl rollout undo deploy/auth`; sessions survive.",
    ),
    DemoService(
        "user-profile",
        "Profiles",
        "identity",
        Tier.NORMAL,
        "Accounts",
        "Profile pages and avatar uploads.",
        "GET /health returns 200; uploads succeed.",
        "Redeploy previous tag; avatar bucket is unaffected.",
        is_public=False,
    ),
    DemoService(
        "nightly-export",
        "Nightly export",
        "data",
        Tier.NORMAL,
        "Data",
        "Cron job exporting orders to the warehouse at 02:00 UTC.",
        "Pings /start and success once a night; finishes within 40 minutes.",
        "Re-run the job by hand with `make export DATE=<day>`; it is idempotent.",
    ),
    DemoService(
        "search-indexer",
        "Search indexer",
        "data",
        Tier.LOW,
        "Data",
        "Worker keeping the search index in step with the catalog.",
        "Heartbeat every minute; lag under 5 minutes.",
        "Stop the worker and reindex from the last snapshot.",
        is_public=False,
    ),
    DemoService(
        "storefront",
        "Storefront",
        "web",
        Tier.HIGH,
        "Website",
        "Django storefront rendering product pages.",
        "Home page 200 in under 400 ms; no 5xx.",
        "Revert the release in the deploy tool; static assets are versioned.",
    ),
]

_FILLER_KINDS = ("api", "worker", "cron", "web")
_FILLER_NOUNS = (
    "orders",
    "billing",
    "catalog",
    "inventory",
    "shipping",
    "ledger",
    "emails",
    "reports",
    "media",
    "pricing",
    "reviews",
    "search",
    "sessions",
    "tickets",
    "exports",
    "alerts",
)


def demo_services(count: int) -> Iterator[DemoService]:
    """The curated services first, then deterministic filler services up to ``count``."""
    yield from DEMO_SERVICES[:count]
    teams = sorted(DEMO_TEAMS)
    for index in range(len(DEMO_SERVICES), count):
        noun = _FILLER_NOUNS[index % len(_FILLER_NOUNS)]
        kind = _FILLER_KINDS[(index // len(_FILLER_NOUNS)) % len(_FILLER_KINDS)]
        slug = f"{noun}-{kind}-{index:05d}"
        yield DemoService(
            slug=slug,
            name=f"{noun.title()} {kind} {index}",
            team=teams[index % len(teams)],
            tier=(Tier.HIGH, Tier.NORMAL, Tier.NORMAL, Tier.LOW)[index % 4],
            group=noun.title(),
            description=f"{kind.title()} for {noun}.",
            expected_result='GET /health returns 200 with {"ok": true}.',
            rollback_note="Redeploy the previous tag.",
        )


@transaction.atomic
def demo_catalog_seed(
    *, services: int, progress: Callable[[int, int], None] | None = None, batch: int = 1000
) -> tuple[int, int]:
    """Create the demo teams and the first ``services`` demo services that are missing.

    Returns (teams created, services created). Existing rows are left as they are.
    """
    teams_created = 0
    teams = {team.slug: team for team in Team.objects.filter(slug__in=DEMO_TEAMS)}
    for slug, (name, channel, escalation) in DEMO_TEAMS.items():
        if slug not in teams:
            teams[slug] = Team.objects.create(
                slug=slug,
                name=name,
                chat_channel=channel,
                contact_email=f"{slug}@example.com",
                escalation_note=escalation,
            )
            teams_created += 1
    existing = set(Service.objects.values_list("slug", flat=True))
    wanted = [spec for spec in demo_services(services) if spec.slug not in existing]
    for start in range(0, len(wanted), batch):
        chunk = wanted[start : start + batch]
        _create_services(chunk, teams, first_position=len(existing) + start)
        if progress:
            progress(start + len(chunk), len(wanted))
    return teams_created, len(wanted)


def _create_services(chunk: list[DemoService], teams: dict[str, Team], first_position: int):
    rows = Service.objects.bulk_create(
        Service(
            slug=spec.slug,
            name=spec.name,
            team=teams[spec.team],
            tier=spec.tier,
            component_group=spec.group,
            description=spec.description,
            is_public=spec.is_public,
            position=first_position + offset,
        )
        for offset, spec in enumerate(chunk)
    )
    OwnerNote.objects.bulk_create(
        OwnerNote(
            service=service,
            expected_result=spec.expected_result,
            rollback_note=spec.rollback_note,
            runbook=(
                f"## {spec.name}\n\n1. Check the service's dashboard.\n"
                "2. Read the last deployment's change note.\n3. Roll back if it regressed."
            ),
        )
        for service, spec in zip(rows, chunk, strict=True)
    )
