"""The catalog the public-page tests share: public and private services, owner notes,
check targets and error details, published and draft incidents, published and unpublished
maintenance, each carrying a marker text that must never appear publicly (SECRETS)."""

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from checks.models import Check, Rollup, State
from statuspage.catalog.models import Deployment, OwnerNote
from statuspage.core import days
from statuspage.incidents.models import (
    Incident,
    IncidentService,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
)
from tests.checks.factories import make_check
from tests.factories import make_service, make_team, make_user


def closed_port() -> int:
    """A local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SECRETS = [
    "SECRET-PRIVATE-SERVICE",
    "ledger-internal",
    "OWNER-NOTE-SECRET",
    "ROLLBACK-SECRET",
    "RUNBOOK-SECRET",
    "internal-target.example",
    "SECRET-LAST-DETAIL",
    "DRAFT-INCIDENT-SECRET",
    "DRAFT-UPDATE-SECRET",
    "UNPUBLISHED-MAINTENANCE-SECRET",
    "INTERNAL-DESCRIPTION-SECRET",
    "INTERNALNAME",
    "author-secret",
    "orion-oncall@example.com",
    "#orion-oncall",
    "ESCALATION-SECRET",
    "DEPLOY-SECRET",
]


@dataclass
class World:
    now: datetime
    checkout: object
    worker: object
    search: object
    private: object
    active: Incident
    resolved: Incident
    draft: Incident
    upcoming: Maintenance
    running: Maintenance
    unpublished: Maintenance


def day_start(now: datetime, days_ago: int) -> datetime:
    """Where the daily rollup of the day ``days_ago`` before ``now``'s begins."""
    return days.day_start(days.day_of(now) - timedelta(days=days_ago))


def build_world(now: datetime | None = None) -> World:
    now = now or timezone.now()
    team = make_team(
        "orion",
        contact_email="orion-oncall@example.com",
        chat_channel="#orion-oncall",
        escalation_note="ESCALATION-SECRET",
    )
    author = make_user("author-secret")
    checkout = make_service(
        "checkout-api",
        team=team,
        name="Checkout INTERNALNAME",
        public_name="Checkout",
        description="INTERNAL-DESCRIPTION-SECRET",
        public_description="Pay for your order",
        component_group="Payments",
        is_public=True,
        position=1,
    )
    worker = make_service(
        "payments-worker", team=team, component_group="Payments", is_public=True, position=2
    )
    search = make_service("search-api", team=team, is_public=True, position=3)
    private = make_service(
        "ledger-internal", team=team, name="SECRET-PRIVATE-SERVICE", is_public=False, position=0
    )
    OwnerNote.objects.filter(service=checkout).update(
        expected_result="OWNER-NOTE-SECRET",
        rollback_note="ROLLBACK-SECRET",
        runbook="RUNBOOK-SECRET",
    )
    Deployment.objects.create(
        service=checkout, version="1.2.3", deployed_by="ci", reason="DEPLOY-SECRET"
    )

    down = make_check(checkout, "health", config={"url": "http://internal-target.example:8443/h"})
    Check.objects.filter(pk=down.pk).update(
        state=State.DOWN, last_detail="SECRET-LAST-DETAIL: connection refused", state_changed_at=now
    )
    for service in (worker, search, private):
        check = make_check(service, "health", config={"url": "http://internal-target.example/x"})
        Check.objects.filter(pk=check.pk).update(state=State.UP, last_detail="SECRET-LAST-DETAIL")
    for days_ago in range(0, 10):
        Rollup.objects.create(
            check_ref=down,
            period=Rollup.Period.DAY,
            start=day_start(now, days_ago),
            up=1436,
            down=4,
        )
    Rollup.objects.create(
        check_ref=down, period=Rollup.Period.DAY, start=day_start(now, 12), maintenance=60
    )

    active = Incident.objects.create(
        title="Elevated checkout errors",
        impact="major",
        status="identified",
        is_published=True,
        published_at=now - timedelta(hours=2),
        started_at=now - timedelta(hours=2),
        created_by=author,
    )
    IncidentService.objects.create(
        incident=active, service=checkout, component_status="partial_outage"
    )
    IncidentService.objects.create(
        incident=active, service=private, component_status="major_outage"
    )
    IncidentUpdate.objects.create(
        incident=active, status="investigating", body="We are **looking** into errors.",
        created_at=now - timedelta(hours=2), created_by=author,
    )  # fmt: skip
    IncidentUpdate.objects.create(
        incident=active, status="identified", body="A bad cache node was found.",
        created_at=now - timedelta(hours=1), created_by=author,
    )  # fmt: skip

    resolved = Incident.objects.create(
        title="Slow search results",
        impact="minor",
        status="resolved",
        is_published=True,
        started_at=now - timedelta(days=3, hours=1),
        resolved_at=now - timedelta(days=3),
    )
    IncidentService.objects.create(
        incident=resolved, service=search, component_status="degraded_performance"
    )
    IncidentUpdate.objects.create(
        incident=resolved, status="resolved", body="Search is fast again.",
        created_at=now - timedelta(days=3),
    )  # fmt: skip

    draft = Incident.objects.create(
        title="DRAFT-INCIDENT-SECRET",
        impact="critical",
        status="investigating",
        is_published=False,
        started_at=now - timedelta(minutes=30),
    )
    IncidentService.objects.create(incident=draft, service=search, component_status="major_outage")
    IncidentUpdate.objects.create(
        incident=draft, status="investigating", body="DRAFT-UPDATE-SECRET"
    )

    upcoming = Maintenance.objects.create(
        title="Database upgrade",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=2),
        is_published=True,
    )
    upcoming.services.set([checkout, private])
    MaintenanceUpdate.objects.create(
        maintenance=upcoming, status="scheduled", body="We will upgrade the database."
    )
    running = Maintenance.objects.create(
        title="Queue migration",
        status="in_progress",
        scheduled_for=now - timedelta(minutes=20),
        scheduled_until=now + timedelta(hours=1),
        started_at=now - timedelta(minutes=20),
        is_published=True,
    )
    running.services.set([worker])
    unpublished = Maintenance.objects.create(
        title="UNPUBLISHED-MAINTENANCE-SECRET",
        status="in_progress",
        scheduled_for=now - timedelta(minutes=10),
        scheduled_until=now + timedelta(hours=1),
        is_published=False,
    )
    unpublished.services.set([search, private])
    return World(
        now,
        checkout,
        worker,
        search,
        private,
        active,
        resolved,
        draft,
        upcoming,
        running,
        unpublished,
    )
