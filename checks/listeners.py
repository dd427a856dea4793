"""Callables the engine runs inside its write transactions, registered by apps above it.

The engine sits below the apps that react to its changes (notifications): it cannot
import them, and a signal would hide who listens. Instead an app appends its function
here in its AppConfig.ready(), and the engine calls each one in the same transaction as
the change, so whatever they write (an outbox row) commits or rolls back with it.
"""

from collections.abc import Callable

from checks.models import DeploymentImpact, Transition

# Called with the transitions just written (one results_record call), checks locked.
transition_listeners: list[Callable[[list[Transition]], None]] = []
# Called with a deployment's impact just computed (or recomputed).
verdict_listeners: list[Callable[[DeploymentImpact], None]] = []


def transitions_written(transitions: list[Transition]) -> None:
    for listener in transition_listeners:
        listener(transitions)


def verdict_written(impact: DeploymentImpact) -> None:
    for listener in verdict_listeners:
        listener(impact)


def register(listeners: list, function: Callable) -> None:
    """Append once: ready() can run more than once in a test process."""
    if function not in listeners:
        listeners.append(function)
