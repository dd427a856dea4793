"""``manage.py run_check ID [--record]``: run one check in the foreground and show what it saw."""

import dataclasses
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from checks.definitions import DefinitionError, target_build
from checks.models import Check, Kind
from checks.probes.base import HttpTarget, Target
from checks.runner import Job, observations_collect
from checks.scheduling import Claim, slot_at_or_before
from checks.sealing import config_masked
from checks.services import results_record


def _masked(target: Target) -> Target:
    """The target as printed: a URL's password masked (header values are never printed)."""
    if isinstance(target, HttpTarget):
        return dataclasses.replace(target, url=config_masked({"url": target.url})["url"])
    return target


class Command(BaseCommand):
    help = "Run one check now and print the outcome. Nothing is stored unless --record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("check_id", type=int, help="The check's id (see the admin).")
        parser.add_argument(
            "--record",
            action="store_true",
            help="Store the result for the current slot (ignored if that slot has one).",
        )

    def handle(self, *args, check_id: int, record: bool, **options) -> None:
        check = Check.objects.select_related("service").filter(pk=check_id).first()
        if check is None:
            raise CommandError(f"no check with id {check_id}")
        if check.kind == Kind.HEARTBEAT:
            raise CommandError(
                f"check {check_id} is a heartbeat: the job pings us, there is nothing to run. "
                f"Last ping: {check.last_ping_at or 'never'}"
            )
        if record and len(check.locations or ()) > 1:
            # This machine is no location of the check: what it sees cannot stand for the
            # slot, whose outcome is its locations' quorum (checks.quorum).
            raise CommandError(
                f"check {check_id} runs from several locations ({', '.join(check.locations)}): "
                "its results come from their quorum; run it without --record"
            )
        try:
            target = target_build(check.kind, check.config, degraded_ms=check.degraded_ms)
        except DefinitionError as exc:
            raise CommandError(f"check {check_id} has an invalid definition: {exc}") from None
        slot = slot_at_or_before(check_id=check.pk, interval_s=check.interval_s, t=time.time())
        job = Job(Claim(check.pk, slot), check.kind, target, check.timeout_s)
        (observation,) = observations_collect([job])
        outcome = {1: "up", 2: "degraded", 3: "down"}[observation.outcome]
        latency = "-" if observation.latency_ms is None else f"{observation.latency_ms:.1f} ms"
        self.stdout.write(f"{check.service.name} / {check.name} ({check.kind})")
        self.stdout.write(f"  target:   {_masked(target)}")
        self.stdout.write(f"  outcome:  {outcome}")
        self.stdout.write(f"  latency:  {latency}")
        if observation.status_code is not None:
            self.stdout.write(f"  status:   {observation.status_code}")
        self.stdout.write(f"  detail:   {observation.detail or '-'}")
        if record:
            summary = results_record(observations=[observation])
            stored = "stored" if summary.inserted else "not stored: this slot already has a result"
            self.stdout.write(f"  result {stored} (slot {slot})")
