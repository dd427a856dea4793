"""Cron expressions for heartbeat checks whose jobs run on a schedule, not a period."""

from datetime import datetime

from cronsim import CronSim, CronSimError


class CronError(ValueError):
    pass


def cron_parse(expression: str) -> str:
    """Validate a five-field cron expression (UTC); return it normalised."""
    normalised = " ".join(expression.split())
    if len(normalised.split(" ")) != 5:
        raise CronError(f"{expression!r} must have five fields: minute hour day month weekday")
    try:
        CronSim(normalised, datetime(2000, 1, 1).astimezone())
    except CronSimError as exc:
        raise CronError(f"{expression!r}: {exc}") from None
    return normalised


def cron_next(expression: str, *, after: datetime) -> datetime:
    """The first run time strictly after ``after`` (an aware datetime)."""
    return next(CronSim(expression, after))
