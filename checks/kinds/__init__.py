"""The registry of check kinds: the one place that lists them.

Each kind is a module of this package holding a ``CheckKind`` named ``KIND``. Everything
that differs by kind (model choices, YAML keys, API, admin form fields, target building,
the probe to run) is read from here; adding a kind is a module and a line below.
"""

from django.db import models

from checks.kinds import dns, heartbeat, http, tcp, tls
from checks.kinds.base import CheckKind, Setting

__all__ = ["KINDS", "CheckKind", "Kind", "Setting", "kind_choices", "kind_get"]

KINDS: dict[str, CheckKind] = {
    kind.name: kind for kind in (http.KIND, tcp.KIND, tls.KIND, dns.KIND, heartbeat.KIND)
}


def kind_get(name: str) -> CheckKind | None:
    return KINDS.get(name)


def kind_choices() -> list[tuple[str, str]]:
    """The model field's choices, read when asked so a kind added at runtime is offered too."""
    return [(kind.name, kind.label) for kind in KINDS.values()]


# Names for code that means one kind in particular (``Kind.HEARTBEAT``); built from the
# registry, so it never needs its own edit.
Kind = models.TextChoices("Kind", [(name.upper(), (name, k.label)) for name, k in KINDS.items()])
