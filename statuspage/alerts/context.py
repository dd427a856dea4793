"""What an alert says, snapshotted when its event is recorded.

The snapshot (plain JSON: strings, numbers, lists) is stored in ``Event.context`` inside
the transaction that records the change, so an owner note edited or a deployment judged
after the event does not change a message that is already queued or being retried.
Rendering (statuspage.alerts.messages) reads only the snapshot, never the database.
"""

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse

from checks.models import Check, DeploymentImpact, Kind, Transition
from statuspage.catalog.models import Deployment, OwnerNote, Service, Team
from statuspage.core.sql import in_ids

# Snapshotted texts are cut here: an alert is a pointer to the page, not a copy of it.
TEXT_MAX = 2000
ERROR_MAX = 500


def site_url() -> str:
    """The absolute base of the team site: ALERTS_SITE_URL, else the host of the public
    status page's configured address, else the local `make run` address."""
    configured = getattr(settings, "ALERTS_SITE_URL", "") or ""
    if configured:
        return configured.rstrip("/") + "/"
    page = settings.STATUS_PAGE.get("url", "")
    if page:
        return urljoin(page, "/")
    return f"http://127.0.0.1:{settings.PORT}/"


def absolute(path: str) -> str:
    return urljoin(site_url(), path.lstrip("/"))


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cut(text: str, limit: int = TEXT_MAX) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def team_context(team: Team) -> dict:
    return {
        "name": team.name,
        "slug": team.slug,
        "contact_email": team.contact_email,
        "chat_channel": team.chat_channel,
        "escalation_note": _cut(team.escalation_note),
    }


def notes_context(note: OwnerNote | None, *, service_url: str) -> dict:
    """Expected result, rollback note, runbook and links of the service's owner note."""
    if note is None:
        return {
            "expected_result": "",
            "rollback_note": "",
            "runbook": "",
            "runbook_url": service_url + "#notes-heading",
            "links": [],
        }
    try:
        links = [{"title": link.title, "url": link.url} for link in note.link_list]
    except ValidationError:
        links = []  # a note saved before the link rule existed: the page still shows it
    runbook_url = next(
        (link["url"] for link in links if "runbook" in link["title"].lower()),
        service_url + "#notes-heading",
    )
    return {
        "expected_result": _cut(note.expected_result),
        "rollback_note": _cut(note.rollback_note),
        "runbook": _cut(note.runbook),
        "runbook_url": runbook_url,
        "links": links,
    }


def impact_context(impact: DeploymentImpact | None) -> dict | None:
    if impact is None:
        return None
    return {
        "verdict": impact.verdict,
        "verdict_label": impact.get_verdict_display(),
        "reason": impact.reason,
        "window_s": impact.window_s,
        "computed_at": iso(impact.computed_at),
        "before": {
            "results": impact.before_count,
            "p50_ms": impact.before_p50_ms,
            "p95_ms": impact.before_p95_ms,
            "failure_pct": impact.before_failure_pct,
            "uptime_pct": impact.before_uptime_pct,
        },
        "after": {
            "results": impact.after_count,
            "p50_ms": impact.after_p50_ms,
            "p95_ms": impact.after_p95_ms,
            "failure_pct": impact.after_failure_pct,
            "uptime_pct": impact.after_uptime_pct,
        },
    }


def deployment_context(
    deployment: Deployment | None, impact: DeploymentImpact | None = None
) -> dict | None:
    """The deployment, with its verdict and before/after figures once it is judged."""
    if deployment is None:
        return None
    return {
        "id": deployment.pk,
        "version": deployment.version,
        "ref": deployment.ref,
        "deployed_at": iso(deployment.deployed_at),
        "deployed_by": deployment.deployed_by,
        "reason": _cut(deployment.reason),
        "expected_metric": deployment.expected_metric,
        "impact": impact_context(impact),
    }


def _service_part(service: Service, note: OwnerNote | None, deployment: dict | None) -> dict:
    url = absolute(reverse("service", args=[service.slug]))
    return {
        "service": {
            "id": service.pk,
            "slug": service.slug,
            "name": service.name,
            "tier": service.tier,
            "url": url,
        },
        "team": team_context(service.team),
        "notes": notes_context(note, service_url=url),
        "deployment": deployment,
    }


def services_context(service_ids: Iterable[int]) -> dict[int, dict]:
    """Service, team, owner notes, last deployment with its verdict, and links, for many
    services in a few queries (a storm records many events in one transaction)."""
    ids = sorted(set(service_ids))
    if not ids:
        return {}
    latest = (
        Deployment.objects.filter(service_id=OuterRef("pk"))
        .order_by("-deployed_at", "-pk")
        .values("pk")[:1]
    )
    services = list(
        Service.objects.select_related("team")
        .filter(in_ids("pk", ids))
        .annotate(last_deployment_id=Subquery(latest))
    )
    notes = {n.service_id: n for n in OwnerNote.objects.filter(in_ids("service_id", ids))}
    deployments = {
        d.pk: d
        for d in Deployment.objects.filter(
            in_ids("pk", [s.last_deployment_id for s in services if s.last_deployment_id])
        )
    }
    impacts = {
        i.deployment_id: i
        for i in DeploymentImpact.objects.filter(in_ids("deployment_id", list(deployments)))
    }
    found = {}
    for service in services:
        deployment = deployments.get(service.last_deployment_id)
        part = deployment_context(deployment, impacts.get(service.last_deployment_id))
        found[service.pk] = _service_part(service, notes.get(service.pk), part)
    return found


def service_context(service: Service, *, deployment: Deployment | None = None) -> dict:
    """One service's part of the snapshot; ``deployment`` instead of its last one."""
    if deployment is None:
        return services_context([service.pk])[service.pk]
    note = OwnerNote.objects.filter(service=service).first()
    impact = DeploymentImpact.objects.filter(deployment=deployment).first()
    return _service_part(service, note, deployment_context(deployment, impact))


def check_context(check: Check, transition: Transition | None = None) -> dict:
    """The check, its state and the error that moved it (the transition's reason)."""
    error = transition.reason if transition is not None else check.last_detail
    return {
        "id": check.pk,
        "name": check.name,
        "kind": check.kind,
        "heartbeat": check.kind == Kind.HEARTBEAT,
        "state": transition.to_state if transition is not None else check.state,
        "error": _cut(error or "", ERROR_MAX),
        "last_detail": _cut(check.last_detail or "", ERROR_MAX),
    }
