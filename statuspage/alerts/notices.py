"""Incidents and maintenance told to the teams of the services they affect.

The periodic sweep (statuspage.alerts.reminders.alerts_sweep) reads what the incidents app
published or moved recently and records one event for each: an incident published, an
update posted to a published incident, a maintenance started or ended, and a check still
down when the maintenance that hid its outage ended. Each event's key names its source
row, so a sweep that runs twice, or two sweeps racing, record it once; the lookback is far
longer than the sweep's period, so a sweep that could not run for a while catches up.
"""

from datetime import datetime, timedelta

from django.urls import reverse

from checks.models import Check, State
from statuspage.alerts.context import absolute, iso
from statuspage.alerts.events import event_announce, state_announce
from statuspage.alerts.models import Event, EventKind
from statuspage.alerts.routing import channels_for_services
from statuspage.alerts.subscriber_news import subscribers_told
from statuspage.alerts.suppression import windows_ended
from statuspage.incidents.models import Incident, IncidentUpdate, Maintenance

LOOKBACK = timedelta(hours=6)
BODY_MAX = 2000


def _body(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= BODY_MAX else text[: BODY_MAX - 1] + "…"


def _incident_context(incident: Incident, update: IncidentUpdate | None) -> dict:
    services = [row.service for row in incident.affected.all()]
    return {
        "incident": {
            "id": incident.pk,
            "title": incident.title,
            "status": update.status if update else incident.status,
            "status_label": (update or incident).get_status_display(),
            "impact": incident.impact,
            "body": _body(update.body if update else ""),
            "url": absolute(reverse("incident-detail", args=[incident.pk])),
            "services": [s.name for s in services],
        }
    }, services


def incident_notify(*, incident: Incident, update: IncidentUpdate | None) -> Event | None:
    """One event for a published incident (``update`` None: its publication, with its
    latest update) or for one update posted after it was published."""
    if update is None:
        kind, key = EventKind.INCIDENT_PUBLISHED, f"incident:{incident.pk}:published"
        at = incident.published_at
    else:
        kind, key = EventKind.INCIDENT_UPDATED, f"incident-update:{update.pk}"
        at = update.created_at
    if Event.objects.filter(key=key).exists():
        return None  # told already: skip the reads below
    latest = update or incident.updates.order_by("-created_at", "-pk").first()
    context, services = _incident_context(incident, latest)
    services = [s for s in services if not s.is_paused]
    event = event_announce(
        kind=kind,
        key=key,
        occurred_at=at,
        context=context,
        channels=channels_for_services(services=services, kind=kind),
        incident=incident,
    )
    return subscribers_told(event)


def _window_text(maintenance: Maintenance) -> str:
    start = maintenance.scheduled_for.strftime("%Y-%m-%d %H:%M")
    end = maintenance.scheduled_until.strftime("%Y-%m-%d %H:%M UTC")
    return f"{start} to {end}"


def maintenance_notify(*, maintenance: Maintenance, started: bool) -> Event | None:
    key = f"maintenance:{maintenance.pk}:{'started' if started else 'ended'}"
    if Event.objects.filter(key=key).exists():
        return None  # told already: skip the reads below
    services = [s for s in maintenance.services.all() if not s.is_paused]
    kind = EventKind.MAINTENANCE_STARTED if started else EventKind.MAINTENANCE_ENDED
    context = {
        "maintenance": {
            "id": maintenance.pk,
            "title": maintenance.title,
            "status": maintenance.status,
            "window_text": _window_text(maintenance),
            "scheduled_for": iso(maintenance.scheduled_for),
            "scheduled_until": iso(maintenance.scheduled_until),
            "url": absolute(reverse("maintenance-detail", args=[maintenance.pk])),
            "services": [s.name for s in services],
        }
    }
    at = maintenance.started_at if started else maintenance.completed_at
    event = event_announce(
        kind=kind,
        key=key,
        occurred_at=at,
        context=context,
        channels=channels_for_services(services=services, kind=kind),
        maintenance=maintenance,
    )
    return subscribers_told(event)


def incidents_sweep(*, now: datetime) -> int:
    since = now - LOOKBACK
    recorded = 0
    published = Incident.objects.filter(
        is_published=True, published_at__gt=since, published_at__lte=now
    ).prefetch_related("affected__service")
    for incident in published:
        recorded += incident_notify(incident=incident, update=None) is not None
    updates = IncidentUpdate.objects.filter(
        incident__is_published=True, created_at__gt=since, created_at__lte=now
    ).select_related("incident")
    for update in updates.order_by("created_at", "pk"):
        # Updates posted before publication are part of the "published" message.
        if update.created_at <= update.incident.published_at:
            continue
        recorded += incident_notify(incident=update.incident, update=update) is not None
    return recorded


def maintenance_sweep(*, now: datetime) -> int:
    since = now - LOOKBACK
    recorded = 0
    for maintenance in Maintenance.objects.filter(
        is_published=True, started_at__gt=since, started_at__lte=now
    ).prefetch_related("services"):
        recorded += maintenance_notify(maintenance=maintenance, started=True) is not None
    for maintenance in Maintenance.objects.filter(
        is_published=True, completed_at__gt=since, completed_at__lte=now
    ).prefetch_related("services"):
        recorded += maintenance_notify(maintenance=maintenance, started=False) is not None
    return recorded


def after_maintenance_sweep(*, now: datetime) -> int:
    """Announce checks that went down during a window that has ended and are still down."""
    recorded = 0
    for window in windows_ended(now=now):
        down = Check.objects.select_related("service").filter(
            service_id=window.service_id, state=State.DOWN
        )
        for check in down:
            event = state_announce(
                check=check,
                key=f"after-maintenance:{window.source_id}:{window.service_id}:{check.pk}",
                now=now,
                note="Went down during maintenance and is still down now that it has ended.",
            )
            recorded += event is not None
    return recorded
