"""Which channels hear of an event: the owning team's, unless the service says otherwise.

1. The service's own channels (ServiceChannel rows): if any row replaces, only the
   service's channels are used; otherwise they are added to its team's.
2. Disabled channels are dropped.
3. Each channel's event filter (empty = every kind) and minimum tier apply. Follow-ups
   of an outage (flapping, reminder) pass the filter of "down": a channel that wants to
   hear of outages wants to hear that one is flapping or still going on.
4. Escalation channels hear only escalations, and escalations go only to them.
"""

from collections.abc import Iterable

from statuspage.alerts.models import Channel, EventKind, ServiceChannel
from statuspage.catalog.models import TIER_RANK, Service
from statuspage.core.sql import in_ids

_FILTER_AS = {
    EventKind.FLAPPING: EventKind.DOWN,
    EventKind.REMINDER: EventKind.DOWN,
}


def kind_allowed(channel: Channel, kind: str) -> bool:
    if kind == EventKind.TEST:
        return True
    wanted = channel.events or []
    if not wanted:
        return True
    return kind in wanted or _FILTER_AS.get(kind) in wanted


def tier_allowed(channel: Channel, tier: str) -> bool:
    """A channel with a minimum tier hears only services of that tier or more critical."""
    if not channel.min_tier:
        return True
    # TIER_RANK's keys are str enums: plain strings from the database look them up.
    limit = TIER_RANK.get(channel.min_tier, len(TIER_RANK))
    return TIER_RANK.get(tier, len(TIER_RANK)) <= limit


def candidates(services: Iterable[Service]) -> dict[int, list[Channel]]:
    """Each service's channels before filtering (step 1), in two queries for them all."""
    services = list(services)
    own: dict[int, list[ServiceChannel]] = {}
    rows = ServiceChannel.objects.filter(
        in_ids("service_id", [s.pk for s in services])
    ).select_related("channel")
    for row in rows.order_by("channel_id"):
        own.setdefault(row.service_id, []).append(row)
    by_team: dict[int, list[Channel]] = {}
    team_channels = Channel.objects.filter(team_id__in={s.team_id for s in services})
    for channel in team_channels.order_by("pk"):
        by_team.setdefault(channel.team_id, []).append(channel)
    found = {}
    for service in services:
        rows = own.get(service.pk, [])
        channels = [row.channel for row in rows]
        if not any(row.replace for row in rows):
            seen = {c.pk for c in channels}
            channels += [c for c in by_team.get(service.team_id, []) if c.pk not in seen]
        found[service.pk] = channels
    return found


def route(channels: Iterable[Channel], *, service: Service, kind: str) -> list[Channel]:
    """Steps 2 to 4 over a service's candidate channels."""
    escalating = kind == EventKind.ESCALATION
    return [
        channel
        for channel in channels
        if channel.enabled
        and bool(channel.escalation) == escalating
        and kind_allowed(channel, kind)
        and tier_allowed(channel, service.tier)
    ]


def channels_for(*, service: Service, kind: str) -> list[Channel]:
    """The channels that hear of an event of ``kind`` about ``service``."""
    return route(candidates([service])[service.pk], service=service, kind=kind)


def channels_for_services(*, services: Iterable[Service], kind: str) -> list[Channel]:
    """The union over several services (an incident, a maintenance), each channel once."""
    services = list(services)
    found: dict[int, Channel] = {}
    by_service = candidates(services)
    for service in services:
        for channel in route(by_service[service.pk], service=service, kind=kind):
            found.setdefault(channel.pk, channel)
    return [found[pk] for pk in sorted(found)]
