"""Public subscriptions: ask, confirm, cancel, and the fan-out of published news.

Every link a subscriber receives is signed (django.core.signing) with a salt of its own
purpose and carries the subscriber's id and nonce, so a confirmation link cannot
unsubscribe, a link of one address cannot act on another, and cancelling voids every
link sent before. Nothing here tells a caller whether an address was known.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from statuspage.alerts.subscribers import MailKind, Subscriber, SubscriberMail
from statuspage.catalog.models import Service

CONFIRM_SALT = "statuspage.alerts.subscriber.confirm"
UNSUBSCRIBE_SALT = "statuspage.alerts.subscriber.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=3)
# Confirmation mails one address may be sent per window, whoever asks for them: the form
# must not become a way to flood somebody's inbox from many clients.
CONFIRMS_PER_ADDRESS = 3
CONFIRM_WINDOW = timedelta(hours=1)
# Mails queued per send task of a fan-out: one SMTP connection serves a batch.
SEND_BATCH = 50


class LinkInvalid(Exception):
    """A subscriber link that is forged, expired, or no longer matches its subscriber."""


@dataclass(frozen=True)
class Choice:
    """What a confirmation link subscribes to: every component, or these public services."""

    all_components: bool
    service_ids: tuple[int, ...] = ()


def normalize_email(address: str) -> str:
    return address.strip().lower()


def public_service_choices() -> list[Service]:
    """The components a visitor may subscribe to: the public services in page order."""
    return list(
        Service.objects.filter(is_public=True).order_by("component_group", "position", "name")
    )


# ----------------------------------------------------------------------------- links


def confirm_token(mail: SubscriberMail) -> str:
    payload = {"s": mail.subscriber_id, "n": mail.context["nonce"], "c": mail.context["choice"]}
    return signing.dumps(payload, salt=CONFIRM_SALT)


def unsubscribe_token(subscriber_id: int, nonce: str) -> str:
    return signing.dumps({"s": subscriber_id, "n": nonce}, salt=UNSUBSCRIBE_SALT)


def _load(token: str, *, salt: str, max_age: timedelta | None = None) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkInvalid("This link has expired.") from None
    except signing.BadSignature:
        raise LinkInvalid("This link is not valid.") from None
    if not isinstance(payload, dict) or not {"s", "n"} <= payload.keys():
        raise LinkInvalid("This link is not valid.")
    return payload


def mail_links(mail: SubscriberMail) -> dict[str, str]:
    """The absolute links a mail carries, from the base address stored with it."""
    base = mail.context["base_url"]
    nonce = mail.context["nonce"]
    links = {
        "unsubscribe": urljoin(
            base,
            reverse("subscribe-cancel", args=[unsubscribe_token(mail.subscriber_id, nonce)]),
        ),
        "status": urljoin(base, reverse("public-status")),
    }
    if mail.kind == MailKind.CONFIRM:
        links["confirm"] = urljoin(base, reverse("subscribe-confirm", args=[confirm_token(mail)]))
    return links


# --------------------------------------------------------------------- the visitor


def mails_queue(mail_ids: list[int]) -> None:
    from statuspage.alerts.subscriber_tasks import subscriber_mails_send

    for start in range(0, len(mail_ids), SEND_BATCH):
        subscriber_mails_send.delay(mail_ids[start : start + SEND_BATCH])


def subscription_request(
    *, email: str, choice: Choice, base_url: str, now: datetime
) -> SubscriberMail | None:
    """Queue a confirmation mail for ``email`` with ``choice``; None when the address had
    its share of confirmation mails in the window. The caller answers the same either way.

    1. Find or create the subscriber (a confirmed one keeps receiving what it chose until
       the new link is followed).
    2. Count its recent confirmation mails; past the cap, stop.
    3. Write the mail row; the send task is queued after the commit.
    """
    address = normalize_email(email)
    with transaction.atomic():
        subscriber, _ = Subscriber.objects.get_or_create(email=address)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        recent = subscriber.mails.filter(
            kind=MailKind.CONFIRM, created_at__gte=now - CONFIRM_WINDOW
        ).count()
        if recent >= CONFIRMS_PER_ADDRESS:
            return None
        names = list(
            Service.objects.filter(pk__in=choice.service_ids, is_public=True)
            .order_by("component_group", "position", "name")
            .values_list("public_name", "name")
        )
        mail = SubscriberMail.objects.create(
            subscriber=subscriber,
            kind=MailKind.CONFIRM,
            created_at=now,
            next_attempt_at=now,
            context={
                "base_url": base_url,
                "nonce": subscriber.nonce,
                "choice": "all" if choice.all_components else list(choice.service_ids),
                "components": [public or name for public, name in names],
            },
        )
        transaction.on_commit(lambda: mails_queue([mail.pk]))
    return mail


def subscription_confirm(*, token: str, now: datetime) -> Subscriber:
    """Confirm the subscription a link names and apply the choice it carries.

    Following the same link again changes nothing; a link older than the latest
    cancellation, or of a deleted subscriber, is refused.
    """
    payload = _load(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    choice = payload.get("c")
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update()
            .filter(pk=payload["s"], nonce=payload["n"])
            .first()
        )
        if subscriber is None:
            raise LinkInvalid("This link is no longer valid. Subscribe again to get a new one.")
        subscriber.all_components = choice == "all"
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.save(update_fields=["all_components", "confirmed_at"])
        ids = choice if isinstance(choice, list) else []
        subscriber.services.set(Service.objects.filter(pk__in=ids, is_public=True))
    return subscriber


def subscription_cancel(*, token: str) -> bool:
    """Remove the subscriber a link names, with its unsent mail. True if it was removed,
    False if it was gone already (following the link twice is not an error)."""
    payload = _load(token, salt=UNSUBSCRIBE_SALT)
    deleted, _ = Subscriber.objects.filter(pk=payload["s"], nonce=payload["n"]).delete()
    return bool(deleted)


# ------------------------------------------------------------------------- fan-out


def _recipients(service_ids: Iterable[int]) -> list[tuple[int, str]]:
    wanted = Q(all_components=True) | Q(services__in=list(service_ids))
    rows = (
        Subscriber.objects.filter(wanted, confirmed_at__isnull=False)
        .values_list("pk", "nonce")
        .distinct()
        .order_by("pk")
    )
    return list(rows)


def subscribers_fanout(*, event, facts: dict, service_ids: Iterable[int], base_url: str) -> int:
    """One mail per confirmed subscriber of the affected public components (or of all),
    written in the caller's transaction; sending is queued after the commit.

    ``facts`` is the public snapshot the mail shows (statuspage.alerts.public_facts); a
    redelivered event adds no second mail (unique per event and subscriber).
    """
    kind = MailKind.INCIDENT if event.incident_id else MailKind.MAINTENANCE
    rows = [
        SubscriberMail(
            subscriber_id=subscriber_id,
            event=event,
            kind=kind,
            context={**facts, "base_url": base_url, "nonce": nonce},
        )
        for subscriber_id, nonce in _recipients(service_ids)
    ]
    if not rows:
        return 0
    SubscriberMail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    mail_ids = list(
        SubscriberMail.objects.filter(event=event, state="pending")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: mails_queue(mail_ids))
    return len(mail_ids)
