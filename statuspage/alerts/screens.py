"""Reads of the /alerts/ page: the channels a user may see and their recent notifications.

Who sees what is decided once, in ``visible_team_ids``: admins see every team's channels,
anyone else the channels of the teams they belong to.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.paginator import Page, Paginator

from statuspage.alerts.models import Channel, Notification, NotificationState
from statuspage.catalog.permissions import can_edit_service, member_team_ids

PER_PAGE = 50


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    team: str
    kind: str
    target: str
    enabled: bool
    escalation: bool
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_reason: str


@dataclass(frozen=True)
class NotificationRow:
    id: int
    channel: str
    channel_id: int
    kind: str
    subject: str
    created_at: datetime
    state: str  # queued, sending, sent, retrying, dead, suppressed, grouped
    attempts: int
    next_attempt_at: datetime | None
    reason: str
    key: str


@dataclass(frozen=True)
class AlertsPage:
    channels: list[ChannelRow]
    selected: ChannelRow | None
    rows: list[NotificationRow]
    page: Page


def visible_team_ids(user: AbstractBaseUser) -> set[int] | None:
    """The teams whose channels ``user`` sees; None means every team."""
    if can_edit_service(user):
        return None
    return member_team_ids(user)


def visible_channels(user: AbstractBaseUser):
    channels = Channel.objects.select_related("team").order_by("team__name", "name")
    teams = visible_team_ids(user)
    return channels if teams is None else channels.filter(team_id__in=teams)


def _channel_row(channel: Channel) -> ChannelRow:
    return ChannelRow(
        id=channel.pk,
        name=channel.name,
        team=channel.team.name,
        kind=channel.get_kind_display(),
        target=channel.masked(),
        enabled=channel.enabled,
        escalation=channel.escalation,
        last_success_at=channel.last_success_at,
        last_failure_at=channel.last_failure_at,
        last_failure_reason=channel.last_failure_reason,
    )


def _subject(notification: Notification) -> str:
    event = notification.event
    context = event.context or {}
    if event.service is not None:
        return event.service.name
    for part in ("incident", "maintenance"):
        if context.get(part):
            return context[part].get("title", "")
    return (context.get("test") or {}).get("channel", "")


def _state(notification: Notification) -> str:
    if notification.delivery is not None:
        return notification.delivery.state
    if notification.state == NotificationState.PENDING:
        return "queued"
    return notification.state


def _row(notification: Notification, channel_names: dict[int, str]) -> NotificationRow:
    delivery = notification.delivery
    return NotificationRow(
        id=notification.pk,
        channel=channel_names.get(notification.channel_id, ""),
        channel_id=notification.channel_id,
        kind=notification.event.get_kind_display(),
        subject=_subject(notification),
        created_at=notification.created_at,
        state=_state(notification),
        attempts=delivery.attempts if delivery else 0,
        next_attempt_at=delivery.next_attempt_at if delivery else None,
        reason=delivery.last_error if delivery else "",
        key=delivery.key if delivery else "",
    )


def alerts_page(*, user: AbstractBaseUser, channel_id: int | None, page: str | None) -> AlertsPage:
    """The channels ``user`` may see and a page of their notifications, newest first
    (of one channel when ``channel_id`` names one of them)."""
    channels = [_channel_row(c) for c in visible_channels(user)]
    names = {c.id: c.name for c in channels}
    selected = next((c for c in channels if c.id == channel_id), None)
    wanted = [selected.id] if selected else list(names)
    notifications = (
        Notification.objects.filter(channel_id__in=wanted)
        .select_related("event", "event__service", "delivery")
        .order_by("-created_at", "-pk")
    )
    paged = Paginator(notifications, PER_PAGE).get_page(page)
    rows = [_row(n, names) for n in paged.object_list]
    return AlertsPage(channels=channels, selected=selected, rows=rows, page=paged)
