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
from django.urls import reverse
from django.utils import timezone

from statuspage.alerts.ack_models import Ack, AckVia
from statuspage.alerts.context import absolute
from statuspage.alerts.models import Event, EventKind
from statuspage.catalog.models import Service
from statuspage.catalog.permissions import can_see_team_checks

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
