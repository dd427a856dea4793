"""What public subscribers are told of an event: public facts only.

A subscriber is anyone on the internet, so the snapshot holds what the public page shows
(title, impact, status, the update's text, the public names of affected components) and
never an owner note, a check or a team. Drafts and unpublished maintenance tell nobody.
"""

from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse

from statuspage.alerts.subscriptions import subscribers_fanout
from statuspage.catalog.models import Service
from statuspage.incidents.models import Impact, Incident, IncidentStatus, Maintenance

# Event kinds public subscribers hear of.
PUBLIC_KINDS = {
    "incident_published",
    "incident_updated",
    "maintenance_started",
    "maintenance_ended",
}
TEXT_MAX = 4000


def status_base_url() -> str:
    """Where the public page answers: STATUS_PAGE_URL, else the local `make run` address."""
    return settings.STATUS_PAGE.get("url") or f"http://127.0.0.1:{settings.PORT}/status/"


def _public(services: list[Service]) -> tuple[list[int], list[str]]:
    shown = [s for s in services if s.is_public]
    return [s.pk for s in shown], [s.display_public_name for s in shown]


def incident_facts(event, incident: Incident) -> tuple[dict, list[int]]:
    """The incident as the public page shows it, with the update the event announces
    (its snapshot names it; a catch-up sweep may record several updates at once)."""
    told = (event.context or {}).get("incident") or {}
    update = incident.updates.order_by("-created_at", "-pk").first()
    ids, names = _public([row.service for row in incident.affected.select_related("service")])
    facts = {
        "what": "published" if event.kind == "incident_published" else "updated",
        "title": incident.title,
        "impact": dict(Impact.choices).get(incident.impact, incident.impact),
        "status": told.get("status_label")
        or dict(IncidentStatus.choices).get(incident.status, incident.status),
        "body": told.get("body", update.body if update else "")[:TEXT_MAX],
        "at": event.occurred_at.isoformat(),
        "components": names,
        "path": reverse("public-incident", args=[incident.pk]),
    }
    return facts, ids


def maintenance_facts(maintenance: Maintenance, *, started: bool) -> tuple[dict, list[int]]:
    update = maintenance.updates.order_by("-created_at", "-pk").first()
    ids, names = _public(list(maintenance.services.all()))
    facts = {
        "what": "started" if started else "ended",
        "title": maintenance.title,
        "scheduled_for": maintenance.scheduled_for.isoformat(),
        "scheduled_until": maintenance.scheduled_until.isoformat(),
        "body": update.body[:TEXT_MAX] if update else "",
        "components": names,
        "path": reverse("public-maintenance", args=[maintenance.pk]),
    }
    return facts, ids


def subscribers_announce(event) -> int:
    """Fan a recorded event out to the public subscribers it concerns (0 if none).

    Called in the transaction that recorded the event, so the mails commit with it.
    """
    if event.kind not in PUBLIC_KINDS:
        return 0
    if event.incident_id:
        incident = Incident.objects.get(pk=event.incident_id)
        if not incident.is_published:
            return 0
        facts, ids = incident_facts(event, incident)
    elif event.maintenance_id:
        maintenance = Maintenance.objects.get(pk=event.maintenance_id)
        if not maintenance.is_published:
            return 0
        facts, ids = maintenance_facts(maintenance, started=event.kind == "maintenance_started")
    else:
        return 0
    base = status_base_url()
    facts["url"] = urljoin(base, facts.pop("path"))
    return subscribers_fanout(event=event, facts=facts, service_ids=ids, base_url=base)


def subscribers_told(event):
    """``event`` after its public subscribers' mail was written (None passes through)."""
    if event is not None:
        subscribers_announce(event)
    return event
