"""Reminders and escalation of outages nobody acknowledged, and the periodic alert sweep.

An outage is a check that is down now and whose last announced state was down. While its
service has no open acknowledgement:

- every channel that hears of it and has ``remind_every_s`` gets a reminder each time
  that much has passed since the outage was announced. The reminder's key names the
  outage, the channel and the reminder's number, so a sweep run twice sends it once and a
  sweep that could not run for a while sends only the latest one, not a burst;
- once ALERTS_ESCALATE_AFTER_S has passed, the team's escalation channels hear of it,
  once per outage.
"""

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checks.models import Check, State
from statuspage.alerts.ack_models import Ack
from statuspage.alerts.events import event_announce, last_announced, state_announce
from statuspage.alerts.flapping import flaps_settled
from statuspage.alerts.messages import duration_text
from statuspage.alerts.models import Channel, Event, EventKind
from statuspage.alerts.notices import after_maintenance_sweep, incidents_sweep, maintenance_sweep
from statuspage.alerts.routing import candidates, route

logger = logging.getLogger(__name__)

DEFAULT_ESCALATE_AFTER_S = 1800


def escalate_after_s() -> int | None:
    """None or 0: never escalate."""
    return getattr(settings, "ALERTS_ESCALATE_AFTER_S", DEFAULT_ESCALATE_AFTER_S) or None


def open_outages() -> list[tuple[Check, Event]]:
    """Each down check of a live service with the event that announced its outage. A check
    disabled while down is no longer watched: nobody is reminded of it."""
    checks = list(
        Check.objects.select_related("service__team").filter(
            state=State.DOWN, is_enabled=True, is_paused=False, service__is_paused=False
        )
    )
    announced = last_announced(c.pk for c in checks)
    events = Event.objects.in_bulk([a.event_id for a in announced.values() if a.is_down])
    outages = []
    for check in checks:
        last = announced.get(check.pk)
        if last is not None and last.event_id in events:
            outages.append((check, events[last.event_id]))
    return outages


def _follow_up_context(outage: Event, *, now: datetime, note: str) -> dict:
    context = dict(outage.context or {})
    context["since"] = outage.occurred_at.isoformat()
    context["down_for_s"] = int((now - outage.occurred_at).total_seconds())
    context["note"] = note
    return context


def _remind(check: Check, outage: Event, *, now: datetime, channels: list[Channel]) -> int:
    """Remind ``channels`` (the service's candidates, routed here) of ``outage``."""
    recorded = 0
    elapsed = (now - outage.occurred_at).total_seconds()
    for channel in route(channels, service=check.service, kind=EventKind.REMINDER):
        if not channel.remind_every_s:
            continue
        number = int(elapsed // channel.remind_every_s)
        if number < 1:
            continue
        event = event_announce(
            kind=EventKind.REMINDER,
            key=f"reminder:{outage.pk}:{channel.pk}:{number}",
            occurred_at=now,
            context=_follow_up_context(
                outage, now=now, note=f"Down for {duration_text(elapsed)}, not acknowledged."
            ),
            service=check.service,
            check=check,
            channels=[channel],
        )
        recorded += event is not None
    return recorded


def _escalate(check: Check, outage: Event, *, now: datetime) -> int:
    after = escalate_after_s()
    elapsed = (now - outage.occurred_at).total_seconds()
    if after is None or elapsed < after:
        return 0
    team = check.service.team
    note = f"Nobody acknowledged it in {duration_text(after)}."
    if team.escalation_note:
        note += f" Escalation: {team.escalation_note}"
    event = event_announce(
        kind=EventKind.ESCALATION,
        key=f"escalation:{outage.pk}",
        occurred_at=now,
        context=_follow_up_context(outage, now=now, note=note),
        service=check.service,
        check=check,
    )
    return int(event is not None)


def reminders_send(*, now: datetime) -> tuple[int, int]:
    """Remind and escalate the unacknowledged outages; (reminders, escalations) recorded."""
    reminded = escalated = 0
    with transaction.atomic():
        outages = open_outages()
        acknowledged = set(
            Ack.objects.filter(
                ended_at__isnull=True, service_id__in={c.service_id for c, _ in outages}
            ).values_list("service_id", flat=True)
        )
        # Every down service's channels in two queries, not two per outage: a network
        # fault can put thousands of checks down at once.
        by_service = candidates({check.service_id: check.service for check, _ in outages}.values())
        for check, outage in outages:
            if check.service_id in acknowledged:
                continue
            reminded += _remind(check, outage, now=now, channels=by_service[check.service_id])
            escalated += _escalate(check, outage, now=now)
    return reminded, escalated


def flaps_settle(*, now: datetime) -> int:
    """Close settled flaps and announce the state each check settled in, if it is news."""
    recorded = 0
    with transaction.atomic():
        for flap in flaps_settled(now=now):
            check = Check.objects.select_related("service").filter(pk=flap.check_ref_id).first()
            if check is None:
                continue
            event = state_announce(
                check=check,
                key=f"flap-settled:{flap.pk}",
                now=now,
                note="Stable again after flapping.",
            )
            recorded += event is not None
    return recorded


def alerts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Everything the alerts learn by looking rather than being told: reminders and
    escalation, settled flaps, incidents and maintenance, outages left over by a
    maintenance that ended. Each part is its own transaction; running it twice records
    nothing new."""
    now = now or timezone.now()
    started = time.monotonic()
    reminded, escalated = reminders_send(now=now)
    counts = {"reminders": reminded, "escalations": escalated}
    counts["settled"] = flaps_settle(now=now)
    with transaction.atomic():
        counts["incidents"] = incidents_sweep(now=now)
    with transaction.atomic():
        counts["maintenance"] = maintenance_sweep(now=now)
        counts["after_maintenance"] = after_maintenance_sweep(now=now)
    logger.info(
        "event=alerts.sweep %s ms=%.0f",
        " ".join(f"{name}={value}" for name, value in counts.items()),
        (time.monotonic() - started) * 1000,
    )
    return counts
