"""Callables the engine runs inside its write transactions, registered by apps above it.

The engine sits below the apps that react to its changes (notifications): it cannot
import them, and a signal would hide who listens. Instead an app appends its function
here in its AppConfig.ready(), and the engine calls each one in the same transaction as
the change, so whatever they write (an outbox row) commits or rolls back with it.

A listener that fails is rolled back to its savepoint and logged: the engine's own write
(results, states) still commits, so monitoring never stops because a reaction broke.
"""

import logging
from collections.abc import Callable

from django.db import transaction

from checks.models import DeploymentImpact, Transition

logger = logging.getLogger(__name__)

# Called with the transitions just written (one results_record call), checks locked.
transition_listeners: list[Callable[[list[Transition]], None]] = []
# Called with a deployment's impact just computed (or recomputed).
verdict_listeners: list[Callable[[DeploymentImpact], None]] = []


def _call(listeners: list[Callable], argument, what: str) -> None:
    for listener in listeners:
        try:
            with transaction.atomic():
                listener(argument)
        except Exception:
            logger.exception(
                "event=listener.failed what=%s listener=%s.%s",
                what,
                listener.__module__,
                listener.__qualname__,
            )


def transitions_written(transitions: list[Transition]) -> None:
    _call(transition_listeners, transitions, "transitions")


def verdict_written(impact: DeploymentImpact) -> None:
    _call(verdict_listeners, impact, "verdict")


def register(listeners: list, function: Callable) -> None:
    """Append once: ready() can run more than once in a test process."""
    if function not in listeners:
        listeners.append(function)
