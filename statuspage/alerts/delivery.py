"""Delivery of the outbox: each channel's notifications become messages, each sent once.

One round for a channel (`channel_deliver` runs rounds until nothing is left):
1. Claim, in one short transaction with the channel row locked so that two rounds of one
   channel never overlap: the channel's pending notifications become deliveries (all of
   them one grouped delivery when grouping is on, once the oldest has waited the group
   window; one each otherwise), and due deliveries (queued, retrying, or "sending" whose
   sender's lease ran out: it died) are taken too. Every claimed delivery is marked
   "sending" with a lease and its attempt counted, and this commits BEFORE any network
   call: the key a receiver sees is fixed from then on.
2. Render and send them (statuspage.alerts.sending), outside any transaction.
3. Record the outcomes, fenced by the lease: a row another worker took over after our
   lease ran out is left to it. Sent, retrying (exponential backoff with jitter, or the
   receiver's Retry-After) or dead (a permanent refusal, or the last attempt failed).

A channel's deliveries go out in order: while its oldest unsent delivery waits for a
retry, nothing newer is sent, so a "down" is never overtaken by its "up". A worker killed
after the receiver accepted but before step 3 leaves the row "sending": once the lease
ends, the same delivery, with the same key, is sent again.
"""

import datetime as dt
import logging
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from statuspage.alerts.bulk import set_per_row
from statuspage.alerts.models import (
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    NotificationState,
)
from statuspage.alerts.senders.base import Retryable
from statuspage.alerts.sending import Outcome, Outgoing, send_round
from statuspage.core.sql import in_ids

logger = logging.getLogger(__name__)

UNSENT = (DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRYING)


def setting(name: str) -> float:
    """A number from the settings, where its default lives (statuspage/settings.py)."""
    return float(getattr(settings, name))


def group_window_s() -> float:
    return setting("ALERTS_GROUP_WINDOW_S")


def backoff_s(attempt: int, *, rng: random.Random | None = None) -> float:
    """Exponential in the attempt number, capped, half of it random ("equal jitter"), so
    that deliveries that failed together do not come back together."""
    base = setting("ALERTS_RETRY_BASE_S")
    cap = setting("ALERTS_RETRY_MAX_S")
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


@dataclass
class Claim:
    channel: Channel | None
    deliveries: list[Delivery] = field(default_factory=list)
    lease_until: dt.datetime | None = None
    # When to look at this channel again (the group window or a lease still running).
    wait_s: float | None = None


def _due(delivery: Delivery, now: dt.datetime) -> bool:
    return delivery.next_attempt_at is None or delivery.next_attempt_at <= now


def delivery_claim(*, channel_id: int, now: dt.datetime) -> Claim:
    """Step 1 of the module doc."""
    lease_until = now + dt.timedelta(seconds=setting("ALERTS_SENDING_LEASE_S"))
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None or not channel.enabled:
            # A disabled channel keeps its outbox as it is, to be sent once it is enabled.
            return Claim(channel=channel)
        unsent = list(
            Delivery.objects.filter(channel_id=channel_id, state__in=UNSENT).order_by("id")
        )
        if unsent and not _due(unsent[0], now):
            return Claim(channel, wait_s=(unsent[0].next_attempt_at - now).total_seconds())
        created, wait_s = _deliveries_from_pending(channel, now)
        claimed = [d for d in unsent if _due(d, now)] + created
        if not claimed:
            return Claim(channel, wait_s=wait_s)
        Delivery.objects.filter(in_ids("pk", [d.pk for d in claimed])).update(
            state=DeliveryState.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease_until
        )
    for delivery in claimed:
        delivery.attempts += 1
    return Claim(channel, claimed, lease_until, wait_s)


def _deliveries_from_pending(
    channel: Channel, now: dt.datetime
) -> tuple[list[Delivery], float | None]:
    pending = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(channel=channel, state=NotificationState.PENDING, delivery__isnull=True)
        .order_by("created_at", "id")
    )
    if not pending:
        return [], None
    window = group_window_s()
    if window > 0:
        age = (now - pending[0].created_at).total_seconds()
        if age < window:
            return [], window - age
        groups = [pending]
    else:
        groups = [[notification] for notification in pending]
    deliveries = Delivery.objects.bulk_create(
        [Delivery(channel=channel, next_attempt_at=now) for _ in groups]
    )
    set_per_row(
        Notification,
        "delivery_id",
        {n.pk: d.pk for d, group in zip(deliveries, groups, strict=True) for n in group},
        "bigint",
    )
    return deliveries, None


def _outgoing(claim: Claim) -> list[Outgoing]:
    """Step 2a: each claimed delivery's message, rendered from its notifications."""
    from statuspage.alerts.messages import render

    by_delivery: dict[int, list[Notification]] = {d.pk: [] for d in claim.deliveries}
    rows = (
        Notification.objects.filter(in_ids("delivery_id", list(by_delivery)))
        .select_related("event")
        .order_by("event__occurred_at", "id")
    )
    for notification in rows:
        by_delivery[notification.delivery_id].append(notification)
    items = []
    for delivery in claim.deliveries:
        notifications = by_delivery[delivery.pk]
        services = frozenset(n.event.service_id for n in notifications if n.event.service_id)
        message, error = None, ""
        try:
            message = render(notifications, claim.channel)
        except Exception as exc:
            error = f"the message could not be rendered: {type(exc).__name__}"
            logger.error("event=alert.render_failed delivery=%s error=%s", delivery.pk, error)
        items.append(
            Outgoing(delivery.pk, delivery.key, delivery.attempts, services, message, error)
        )
    return items


@dataclass(frozen=True)
class RoundReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    wait_s: float | None = None


def channel_round(*, channel_id: int, now: dt.datetime | None = None) -> RoundReport:
    """One claim, send and record for a channel (see the module doc)."""
    now = now or timezone.now()
    claim = delivery_claim(channel_id=channel_id, now=now)
    if not claim.deliveries:
        return RoundReport(wait_s=claim.wait_s)
    items = _outgoing(claim)
    outcomes = send_round(claim.channel, items)
    attempts = {item.delivery_id: item.attempt for item in items}
    for outcome in outcomes:
        if not outcome.held:
            logger.info(
                "event=alert.delivery channel_kind=%s attempt=%d outcome=%s ms=%.1f delivery=%s",
                claim.channel.kind,
                attempts[outcome.delivery_id],
                _word(outcome, attempts[outcome.delivery_id]),
                outcome.ms,
                outcome.delivery_id,
            )
    # Backoff counts from the failure, not from the claim (a round takes a while); a
    # `now` given in the future (a test's clock) still wins.
    recorded_at = max(now, timezone.now())
    report = outcomes_record(claim=claim, outcomes=outcomes, attempts=attempts, now=recorded_at)
    waits = [w for w in (report.wait_s, claim.wait_s) if w is not None]
    return RoundReport(
        claimed=len(claim.deliveries),
        sent=report.sent,
        retrying=report.retrying,
        dead=report.dead,
        wait_s=min(waits) if waits else None,
    )


def max_attempts() -> int:
    return int(setting("ALERTS_MAX_ATTEMPTS"))


def _will_retry(error, attempt: int) -> bool:
    return isinstance(error, Retryable) and attempt < max_attempts()


def _word(outcome: Outcome, attempt: int) -> str:
    if outcome.sent:
        return "sent"
    return "retrying" if _will_retry(outcome.error, attempt) else "dead"


def outcomes_record(
    *, claim: Claim, outcomes: list[Outcome], attempts: dict[int, int], now: dt.datetime
) -> "RoundReport":
    """Step 3 of the module doc."""
    fence = {"state": DeliveryState.SENDING, "next_attempt_at": claim.lease_until}
    sent = [o for o in outcomes if o.sent]
    failed = [o for o in outcomes if o.error is not None]
    held = [o.delivery_id for o in outcomes if o.held]
    retrying = dead = 0
    wait_s = None
    with transaction.atomic():
        mine = set(
            Delivery.objects.select_for_update()
            .filter(in_ids("pk", [o.delivery_id for o in outcomes]), **fence)
            .values_list("pk", flat=True)
        )
        sent_ids = [o.delivery_id for o in sent if o.delivery_id in mine]
        if sent_ids:
            Delivery.objects.filter(in_ids("pk", sent_ids)).update(
                state=DeliveryState.SENT, sent_at=now, next_attempt_at=None, last_error=""
            )
            set_per_row(
                Delivery, "ms", {o.delivery_id: o.ms for o in sent if o.delivery_id in mine},
                "float8",
            )  # fmt: skip
            Notification.objects.filter(in_ids("delivery_id", sent_ids)).update(
                state=NotificationState.SENT
            )
        # Held back behind a failed message of the same service: not attempted at all.
        Delivery.objects.filter(in_ids("pk", [i for i in held if i in mine])).update(
            state=DeliveryState.QUEUED, attempts=F("attempts") - 1, next_attempt_at=now
        )
        for outcome in failed:
            if outcome.delivery_id not in mine:
                continue
            delay = _failure_record(outcome, attempts[outcome.delivery_id], now)
            if delay is None:
                dead += 1
            else:
                retrying += 1
                wait_s = delay if wait_s is None else min(wait_s, delay)
        _channel_mark(claim.channel, sent=bool(sent_ids), failed=failed, now=now)
    return RoundReport(sent=len(sent_ids), retrying=retrying, dead=dead, wait_s=wait_s)


def _failure_record(outcome: Outcome, attempt: int, now: dt.datetime) -> float | None:
    """Retrying with the delay until the next attempt, or dead (None)."""
    error = outcome.error
    rows = Delivery.objects.filter(pk=outcome.delivery_id)
    if not _will_retry(error, attempt):
        rows.update(state=DeliveryState.DEAD, last_error=error.reason, next_attempt_at=None)
        Notification.objects.filter(delivery_id=outcome.delivery_id).update(
            state=NotificationState.DEAD
        )
        return None
    # The receiver's own Retry-After wins over our backoff: it knows when it will cope.
    delay = error.retry_after_s if error.retry_after_s is not None else backoff_s(attempt)
    rows.update(
        state=DeliveryState.RETRYING,
        last_error=error.reason,
        next_attempt_at=now + dt.timedelta(seconds=delay),
        ms=outcome.ms,
    )
    return delay


def _channel_mark(channel: Channel, *, sent: bool, failed: list[Outcome], now) -> None:
    changes: dict = {}
    if sent:
        changes["last_success_at"] = now
    if failed:
        changes["last_failure_at"] = now
        changes["last_failure_reason"] = failed[-1].error.reason[:500]
    if changes:
        Channel.objects.filter(pk=channel.pk).update(**changes)


def channel_deliver(*, channel_id: int, budget_s: float = 60.0) -> RoundReport:
    """Rounds for one channel until nothing is left to send now, within `budget_s`.

    Returns the totals and, in `wait_s`, when the channel needs looking at again.
    """
    started = timezone.now()
    totals = RoundReport()
    while True:
        report = channel_round(channel_id=channel_id)
        totals = RoundReport(
            claimed=totals.claimed + report.claimed,
            sent=totals.sent + report.sent,
            retrying=totals.retrying + report.retrying,
            dead=totals.dead + report.dead,
            wait_s=report.wait_s,
        )
        elapsed = (timezone.now() - started).total_seconds()
        if not report.claimed or elapsed > budget_s:
            return totals


def channels_due(*, now: dt.datetime | None = None) -> list[int]:
    """Channels with work a lost or finished task left behind: notifications that waited
    past the group window plus a grace, and deliveries whose retry or lease is due."""
    now = now or timezone.now()
    grace = setting("ALERTS_SWEEP_GRACE_S")
    late = now - dt.timedelta(seconds=group_window_s() + grace)
    pending = Notification.objects.filter(
        state=NotificationState.PENDING,
        delivery__isnull=True,
        created_at__lte=late,
        channel__enabled=True,
    ).values_list("channel_id", flat=True)
    due = Delivery.objects.filter(
        state__in=UNSENT, next_attempt_at__lte=now, channel__enabled=True
    ).values_list("channel_id", flat=True)
    return sorted(set(pending.distinct()) | set(due.distinct()))
