"""Heartbeat checks: the job pings its URL; nothing is probed, and there are no settings.

Its period, grace and cron expression are the check's own fields (checks.heartbeats).
"""

from checks.kinds.base import CheckKind

KIND = CheckKind(name="heartbeat", label="Heartbeat (the job pings us)")
