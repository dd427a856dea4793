"""Check definitions, their results, state changes, heartbeat pings and rollups.

Idempotency lives in the constraints: a result is unique on (check, slot, location), a
rollup on (check, period start). Everything that writes relies on them instead of asking
first.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from checks.definitions import MIN_INTERVAL_S, definition_errors
from checks.histogram import BUCKETS
from checks.kinds import Kind, kind_choices
from checks.sealing import SealedJSONField
from statuspage.catalog.models import Service


class State(models.TextChoices):
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    PAUSED = "paused", "Paused"
    UNKNOWN = "unknown", "Unknown"


class Outcome(models.IntegerChoices):
    """A single result. Stored as a small integer: results are the biggest table."""

    UP = 1, "up"
    DEGRADED = 2, "degraded"
    DOWN = 3, "down"
    # A gap: the slot was not measured (its batch arrived too late to be measured at the
    # slot's time, or never ran). Not counted as up or down anywhere.
    SKIPPED = 4, "skipped"


class Check(models.Model):
    # No index of its own: check_unique_name (service, name) leads with it. Every claim
    # moves next_due_at, an indexed column, so each index here is written at every slot.
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="checks", db_index=False
    )
    name = models.CharField(max_length=120)
    # Choices read from the registry when asked (checks.kinds), so a new kind needs no
    # migration; definition_errors rejects a kind the registry does not know.
    kind = models.CharField(max_length=10, choices=kind_choices, default=Kind.HTTP)
    # Kind-specific settings (URL, method, expected statuses, host/port, ...), validated by
    # checks.definitions for the admin, the YAML import and the API alike. Secret values
    # (headers, URL passwords) are encrypted in the database (checks.sealing).
    config = SealedJSONField(default=dict, blank=True)
    interval_s = models.PositiveIntegerField("interval (s)", default=60)
    timeout_s = models.FloatField("timeout (s)", default=10.0)
    degraded_ms = models.PositiveIntegerField(
        "degraded above (ms)", null=True, blank=True, help_text="Slower than this is degraded."
    )
    failures_before_down = models.PositiveSmallIntegerField(default=2)
    successes_before_up = models.PositiveSmallIntegerField(default=1)
    is_enabled = models.BooleanField("enabled", default=True)
    is_paused = models.BooleanField("paused", default=False)
    # Names of CHECK_LOCATIONS to probe from; empty: the default location (checks.locations).
    locations = models.JSONField(default=list, blank=True)
    # How many locations must see it down; empty: CHECK_QUORUM, or a majority.
    quorum = models.PositiveSmallIntegerField(null=True, blank=True)

    # Heartbeat checks: the job pings /ping/<ping_uuid>; it is late after period + grace.
    ping_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    grace_s = models.PositiveIntegerField("grace (s)", default=300)
    cron = models.CharField(
        max_length=100, blank=True, help_text="Cron expression instead of a fixed period."
    )

    # Scheduling. Slots of one interval are spread by a per-check offset so that checks of
    # the same interval do not all fire in the same second.
    next_due_at = models.DateTimeField(null=True, blank=True)

    # Current state, maintained by checks.services.results_record only.
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNKNOWN)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_slot = models.BigIntegerField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.PositiveSmallIntegerField(choices=Outcome.choices, null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_detail = models.CharField(max_length=500, blank=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # Heartbeat checks: the next deadline the sweep looks at (checks.heartbeats). Empty
    # until first computed; kept by the ping drain and the sweep, recomputed periodically.
    late_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Slots up to here (epoch seconds) have a result or were recorded as gaps by the sweep.
    gaps_swept_to = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="check_unique_name"),
            models.CheckConstraint(
                condition=models.Q(interval_s__gte=MIN_INTERVAL_S), name="check_min_interval"
            ),
        ]
        indexes = [
            # dispatch_due: enabled checks whose next slot is due, oldest first.
            models.Index(
                fields=["next_due_at"],
                name="check_due",
                condition=models.Q(is_enabled=True, is_paused=False),
            ),
            # sweep_heartbeats: active heartbeat checks whose deadline passed (or is unknown).
            models.Index(
                fields=["late_at"],
                name="check_heartbeat_late",
                condition=models.Q(kind="heartbeat", is_enabled=True, is_paused=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None) -> None:
        # The kind is judged in clean(), against the registry, with the message the YAML
        # import and the API give too, rather than Django's "not a valid choice".
        super().clean_fields(exclude={*(exclude or ()), "kind"})

    def clean(self) -> None:
        errors = definition_errors(
            kind=self.kind,
            config=self.config,
            interval_s=self.interval_s,
            timeout_s=self.timeout_s,
            degraded_ms=self.degraded_ms,
            cron=self.cron,
            failures_before_down=self.failures_before_down,
            successes_before_up=self.successes_before_up,
            locations=self.locations,
            quorum=self.quorum,
        )
        if errors:
            raise ValidationError(errors)


def _check_ref(related_name: str) -> models.ForeignKey:
    """The link of a row of a check's history to its check.

    Django deletes these rows with one DELETE ... WHERE check_id IN (...) ("fast delete":
    no signals, no further relations), never row by row. No index of its own: each table's
    composite index starts with check_id.
    """
    return models.ForeignKey(
        Check,
        on_delete=models.CASCADE,
        related_name=related_name,
        db_column="check_id",
        db_index=False,
    )


class SingleFloatField(models.FloatField):
    """A 4-byte float ("real"): about seven significant digits, plenty for a latency in
    milliseconds, and half the width of a double in the largest table."""

    def db_type(self, connection) -> str:
        return "real"


class Result(models.Model):
    """One probe outcome for one slot of a check. Pruned after RESULT_RETENTION_DAYS.

    On PostgreSQL the table is partitioned by ``slot``, one partition per UTC day
    (``checks.partitions``): retention drops whole days instead of deleting rows.
    """

    # (check, slot, location) is the key: a row per slot and location is the idempotency
    # rule, and no surrogate id is kept beside it (results are the biggest table).
    pk = models.CompositePrimaryKey("check_ref", "slot", "location")
    check_ref = _check_ref("results")
    # The slot's scheduled time in epoch seconds: unique per check, so a task delivered
    # twice or two racing schedulers still store one result. The partition key.
    slot = models.BigIntegerField()
    # Empty for the slot's outcome; a location's name for what that location saw, on checks
    # with several locations (checks.locations). A database default too, so that bulk
    # loaders writing SQL of their own store outcomes without naming the column.
    location = models.CharField(max_length=32, blank=True, default="", db_default="")
    checked_at = models.DateTimeField()
    outcome = models.PositiveSmallIntegerField(choices=Outcome.choices)
    latency_ms = SingleFloatField(null=True)
    # Like the detail, kept only for results that are not plainly up (checks.services):
    # with both empty a row of the largest table is a few bytes narrower.
    status_code = models.PositiveSmallIntegerField(null=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            # Rollup recomputation and pruning on SQLite scan by time. On PostgreSQL it is
            # a BRIN index (made by the partitioning migration): rows arrive in time order,
            # so block-range summaries find an hour at a sliver of a b-tree's size.
            models.Index(fields=["checked_at"], name="result_checked_at"),
        ]

    def __str__(self) -> str:
        return f"{self.check_ref_id}@{self.slot}: {self.get_outcome_display()}"


class Transition(models.Model):
    """A state change of a check: from, to, when and why."""

    check_ref = _check_ref("transitions")
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    at = models.DateTimeField()
    slot = models.BigIntegerField(null=True)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at"]
        constraints = [
            # A slot drives at most one transition of a check, however often it is processed.
            models.UniqueConstraint(
                fields=["check_ref", "slot"],
                name="transition_check_slot",
                condition=models.Q(slot__isnull=False),
            ),
        ]
        indexes = [
            # Recent status changes of a check (service page) newest first.
            models.Index(fields=["check_ref", "-at"], name="transition_check_time"),
        ]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class PingKind(models.TextChoices):
    SUCCESS = "success", "Success"
    START = "start", "Start"
    FAIL = "fail", "Fail"
    EXIT = "exit", "Exit status"


class Ping(models.Model):
    """A request to a heartbeat check's ping URL."""

    check_ref = _check_ref("pings")
    kind = models.CharField(max_length=10, choices=PingKind.choices)
    exit_status = models.PositiveSmallIntegerField(null=True)
    received_at = models.DateTimeField()
    rid = models.CharField("run id", max_length=64, blank=True)
    duration_ms = models.FloatField(null=True)
    method = models.CharField(max_length=8)
    remote_addr = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        indexes = [
            # Latest pings of a check, and pairing a finish with its start by run id.
            models.Index(fields=["check_ref", "-received_at"], name="ping_check_time"),
            # Retention pruning deletes the oldest pings first.
            models.Index(fields=["received_at"], name="ping_received_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ping at {self.received_at:%Y-%m-%d %H:%M:%S}"


class PingInbox(models.Model):
    """A ping answered and not yet applied (PostgreSQL only; checks.ping_intake).

    The request's one write: no foreign key, no index but the key, so taking a ping costs
    PostgreSQL as little as a row can. The drain moves each row to ``Ping`` (same id, from
    ``Ping``'s own sequence: the migration makes it this column's default) and applies it.
    A row whose check was deleted meanwhile is dropped there.
    """

    id = models.BigIntegerField(primary_key=True)
    check_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=PingKind.choices)
    exit_status = models.PositiveSmallIntegerField(null=True)
    received_at = models.DateTimeField()
    rid = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=8)
    remote_addr = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        db_table = "checks_pinginbox"

    def __str__(self) -> str:
        return f"{self.kind} ping at {self.received_at:%Y-%m-%d %H:%M:%S}, not yet applied"


class RollupPeriod(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class RollupCounts(models.Model):
    """Counts and a latency histogram over one hour or one day (shared by the rollups)."""

    period = models.CharField(max_length=4, choices=RollupPeriod.choices)
    start = models.DateTimeField()
    up = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    down = models.PositiveIntegerField(default=0)
    # Results inside a maintenance window: shown, but not counted against uptime.
    maintenance = models.PositiveIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    # Plus one count column per latency bucket, h00..h21 (added below the class): columns,
    # not a JSON list, so SQL can SUM histograms across checks and days for percentiles.

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.period} from {self.start:%Y-%m-%d %H:%M}"

    @property
    def histogram(self) -> list[int]:
        return [getattr(self, name) for name in HISTOGRAM_FIELDS]


HISTOGRAM_FIELDS = [f"h{index:02d}" for index in range(BUCKETS)]
for _name in HISTOGRAM_FIELDS:
    RollupCounts.add_to_class(_name, models.PositiveIntegerField(default=0))


class Rollup(RollupCounts):
    """One check over one hour or one day."""

    Period = RollupPeriod

    check_ref = _check_ref("rollups")

    class Meta:
        constraints = [
            # Recomputing a period replaces its row (INSERT ... ON CONFLICT DO UPDATE).
            # The index also serves "one check's days/hours in a time range".
            models.UniqueConstraint(
                fields=["check_ref", "period", "start"], name="rollup_check_period_start"
            ),
        ]
        indexes = [
            # All checks' rollups of one period kind in a time range (all-services uptime).
            models.Index(fields=["period", "start"], name="rollup_period_start"),
        ]


class ServiceRollup(RollupCounts):
    """All of one service's checks over one hour or one day, summed from the check rollups.

    Pages ask per service; reading one row per service and day instead of one per check
    keeps "every service over 365 days" a small scan.
    """

    Period = RollupPeriod

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="rollups", db_index=False
    )

    class Meta:
        constraints = [
            # Rebuilt by INSERT ... ON CONFLICT DO UPDATE; also serves one service's range.
            models.UniqueConstraint(
                fields=["service", "period", "start"], name="service_rollup_period_start"
            ),
        ]
        indexes = [
            # Every service's rollups of one period kind in a time range.
            models.Index(fields=["period", "start"], name="service_rollup_period_time"),
        ]


class Verdict(models.TextChoices):
    IMPROVED = "improved", "Improved"
    UNCHANGED = "unchanged", "Unchanged"
    REGRESSED = "regressed", "Regressed"
    INSUFFICIENT_DATA = "insufficient_data", "Too little data"


class DeploymentImpact(models.Model):
    """Did a deployment change anything? Before/after figures of its service, and a verdict.

    Computed once the comparison window after the deployment has passed (see
    checks.deploys); recomputing replaces the row.
    """

    deployment = models.OneToOneField(
        "catalog.Deployment", on_delete=models.CASCADE, related_name="impact"
    )
    window_s = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    before_count = models.PositiveIntegerField(default=0)
    after_count = models.PositiveIntegerField(default=0)
    before_p50_ms = models.FloatField(null=True, blank=True)
    before_p95_ms = models.FloatField(null=True, blank=True)
    after_p50_ms = models.FloatField(null=True, blank=True)
    after_p95_ms = models.FloatField(null=True, blank=True)
    before_failure_pct = models.FloatField(null=True, blank=True)
    after_failure_pct = models.FloatField(null=True, blank=True)
    before_uptime_pct = models.FloatField(null=True, blank=True)
    after_uptime_pct = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    # Which rule decided, in words: shown beside the verdict.
    reason = models.CharField(max_length=300)

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.verdict}"


class MaintenanceWindow(models.Model):
    """A time range in which a service's results count as maintenance, not against uptime.

    The engine knows nothing of incidents: the incidents app keeps these rows in step with
    its scheduled maintenance through ``checks.maintenance.maintenance_windows_sync``, one
    row per (maintenance, service). ``ends_at`` is empty while a maintenance runs with no
    end decided yet. Notification suppression is meant to read the same rows.
    """

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    # The id of the maintenance this window mirrors (incidents.Maintenance).
    source_id = models.PositiveBigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Syncing a maintenance replaces its rows: one per service, whatever the retries.
            models.UniqueConstraint(
                fields=["source_id", "service"], name="maintenance_window_source_service"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="maintenance_window_ends_after_start",
            ),
        ]
        indexes = [
            # Hourly rollups: "is this service inside a window at checked_at?".
            models.Index(fields=["service", "starts_at"], name="maintenance_window_service"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at or '…'}"
