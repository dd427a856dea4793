"""Engine factories with fixed values."""

from checks.models import Check, Kind
from checks.scheduling import check_schedule_reset
from statuspage.catalog.models import Service


def make_check(service: Service, name: str = "health", **fields) -> Check:
    defaults = {
        "kind": Kind.HTTP,
        "config": {"url": "http://127.0.0.1:9/health"},
        "interval_s": 60,
    }
    check = Check.objects.create(service=service, name=name, **{**defaults, **fields})
    check_schedule_reset(check=check)
    check.save(update_fields=["next_due_at"])
    return check
