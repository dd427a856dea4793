"""Acknowledging a down service: from its pages, or from a signed link in the message.

An acknowledgement is per service: whoever takes it in hand stops the reminders and the
escalation of all its down checks. It ends when the service recovers, so the next outage
needs a new one.

The link carries a signed token (django.core.signing, a salt of its own so no other signed
value of the product is accepted here) naming the service and the event. It expires after
ALERTS_ACK_LINK_MAX_AGE_S, is refused for any other service than the one it names, and
works once: the acknowledgement it makes is unique per event.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from checks.models import Check, State
from statuspage.alerts.ack_models import Ack, AckVia
from statuspage.alerts.context import absolute
from statuspage.alerts.models import Event, EventKind
from statuspage.catalog.models import Service, Team
from statuspage.catalog.permissions import can_edit_service, can_see_team_checks

SALT = "statuspage.alerts.ack-link"
DEFAULT_LINK_MAX_AGE_S = 24 * 3600

# Alerts about an outage still going on: their messages carry an acknowledge link.
ACKABLE_KINDS = {
    EventKind.DOWN,
    EventKind.HEARTBEAT_LATE,
    EventKind.FLAPPING,
    EventKind.REMINDER,
    EventKind.ESCALATION,
}


class AckRefused(Exception):
    """The link cannot acknowledge anything; ``status`` is the HTTP answer (400 or 410)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def can_ack(user: AbstractBaseUser, service: Service) -> bool:
    """The service's team and admins acknowledge its alerts from the pages."""
    return can_see_team_checks(user, service.team_id)


def link_max_age_s() -> int:
    return int(getattr(settings, "ALERTS_ACK_LINK_MAX_AGE_S", DEFAULT_LINK_MAX_AGE_S))


def ack_token(*, service_id: int, event_id: int) -> str:
    return signing.dumps({"s": service_id, "e": event_id}, salt=SALT)


def ack_url(*, service_id: int, event_id: int, service_slug: str | None = None) -> str:
    if service_slug is None:
        service_slug = Service.objects.filter(pk=service_id).values_list("slug", flat=True).get()
    token = ack_token(service_id=service_id, event_id=event_id)
    return absolute(reverse("alert-ack", args=[service_slug, token]))


@dataclass(frozen=True)
class LinkTarget:
    service: Service
    event: Event


def link_target(*, slug: str, token: str) -> LinkTarget:
    """The service and event a link names, or AckRefused saying why not."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=link_max_age_s())
    except signing.SignatureExpired:
        raise AckRefused("This acknowledge link has expired.", status=410) from None
    except signing.BadSignature:
        raise AckRefused("This acknowledge link is not valid.", status=400) from None
    if not isinstance(payload, dict) or not {"s", "e"} <= payload.keys():
        raise AckRefused("This acknowledge link is not valid.", status=400)
    service = Service.objects.select_related("team").filter(slug=slug).first()
    if service is None or service.pk != payload["s"]:
        raise AckRefused("This acknowledge link belongs to another service.", status=400)
    event = Event.objects.filter(pk=payload["e"], service_id=service.pk).first()
    if event is None:
        raise AckRefused("The alert of this link no longer exists.", status=410)
    if Ack.objects.filter(event=event, via=AckVia.LINK).exists():
        raise AckRefused("This acknowledge link was used already.", status=410)
    return LinkTarget(service=service, event=event)


def open_ack(service: Service) -> Ack | None:
    return (
        Ack.objects.select_related("by")
        .filter(service=service, ended_at__isnull=True)
        .order_by("-at")
        .first()
    )


def latest_outage_event(service: Service) -> Event | None:
    """The newest alert of the service's current outage, if it has one."""
    return (
        Event.objects.filter(service=service, kind__in=ACKABLE_KINDS)
        .order_by("-occurred_at", "-pk")
        .first()
    )


def alert_ack(
    *,
    service: Service,
    event: Event,
    by: AbstractBaseUser | None,
    via: str,
    now: datetime | None = None,
) -> tuple[Ack, bool]:
    """Acknowledge the service's outage. Returns the open acknowledgement and whether this
    call made it (False: someone acknowledged it first; theirs stands).

    A link acknowledges once: its row is unique per event, so a second click, even racing
    the first, gets AckRefused.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            ack = Ack.objects.create(service=service, event=event, by=by, via=via, at=now)
    except IntegrityError:
        if via == AckVia.LINK and Ack.objects.filter(event=event, via=AckVia.LINK).exists():
            raise AckRefused("This acknowledge link was used already.", status=410) from None
        existing = open_ack(service)
        if existing is None:  # ended between our insert and this read: try once more
            return alert_ack(service=service, event=event, by=by, via=via, now=now)
        return existing, False
    return ack, True


def acks_end(*, service_id: int, now: datetime) -> int:
    """End the service's open acknowledgement (it recovered). Inside the caller's
    transaction, beside the recovery's event."""
    return Ack.objects.filter(service_id=service_id, ended_at__isnull=True).update(ended_at=now)


def is_acknowledged(service_id: int) -> bool:
    return Ack.objects.filter(service_id=service_id, ended_at__isnull=True).exists()


@dataclass(frozen=True)
class OpenAlert:
    """A service down now, for the team and service pages: who took it in hand, if anyone."""

    slug: str
    name: str
    team_name: str
    since: datetime | None
    ack_by: str
    ack_at: datetime | None
    can_ack: bool

    @property
    def ack_ago_text(self) -> str:
        """ "3 min ago", as of now."""
        from statuspage.alerts.messages import duration_text

        if self.ack_at is None:
            return ""
        return f"{duration_text((timezone.now() - self.ack_at).total_seconds())} ago"


def open_alerts(
    *, user: AbstractBaseUser, service_id: int | None = None, team_slug: str = ""
) -> list[OpenAlert]:
    """Services with a check down now (live ones only: a disabled or paused check is not
    watched), longest down first, with their open acknowledgement and whether the viewer
    may acknowledge it. One query, however many are down."""
    down = Check.objects.filter(
        state=State.DOWN, is_enabled=True, is_paused=False, service__is_paused=False
    )
    if service_id is not None:
        down = down.filter(service_id=service_id)
    if team_slug:
        down = down.filter(service__team__slug=team_slug)
    open_ack = Ack.objects.filter(service_id=OuterRef("service_id"), ended_at__isnull=True)
    membership = Team.members.through.objects.filter(
        team_id=OuterRef("service__team_id"), user_id=user.pk
    )
    rows = (
        down.values(
            "service_id", "service__slug", "service__name", "service__team__name",
        )
        .annotate(
            since=Min("state_changed_at"),
            ack_at=Subquery(open_ack.values("at")[:1]),
            ack_user=Subquery(open_ack.values("by__username")[:1]),
            ack_via=Subquery(open_ack.values("via")[:1]),
            member=Exists(membership),
        )
        .order_by("since", "service__name")
    )  # fmt: skip
    admin = can_edit_service(user)
    return [
        OpenAlert(
            slug=row["service__slug"],
            name=row["service__name"],
            team_name=row["service__team__name"],
            since=row["since"],
            ack_by=_ack_label(row["ack_user"], row["ack_via"]),
            ack_at=row["ack_at"],
            can_ack=user.is_active and (admin or row["member"]),
        )
        for row in rows
    ]


def _ack_label(username: str | None, via: str | None) -> str:
    if username:
        return username
    if via is None:
        return ""
    return "a link in the message" if via == AckVia.LINK else "someone"
