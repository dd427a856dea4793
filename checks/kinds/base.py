"""What a check kind is: its settings, how they become a probe target, and its probe.

A kind is one module in this package holding one ``CheckKind``; ``checks.kinds`` lists them.
The model's choices, the YAML keys, the API's accepted kinds and the admin form's fields are
all derived from these descriptions, so a kind is described here and nowhere else.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from checks.probes.base import ProbeResult

type SettingType = Literal["text", "int", "bool", "choice", "int_list", "text_list", "lines", "map"]
type Probe = Callable[..., Awaitable[ProbeResult]]


@dataclass(frozen=True)
class Setting:
    """One key of a check's config: its type, and how people see and write it.

    ``text_list`` is written comma-separated in the admin, ``lines`` one item per line;
    both are lists in YAML and JSON. ``map`` is a mapping of text (HTTP headers).
    """

    key: str
    type: SettingType
    label: str
    help: str = ""
    choices: tuple[str, ...] = ()
    initial: Any = None
    # The YAML key, when the config key would clash with a check's own field.
    yaml_key: str = ""

    @property
    def written(self) -> str:
        return self.yaml_key or self.key


@dataclass(frozen=True)
class CheckKind:
    """A check kind. ``probe`` is None for kinds the engine never probes (heartbeats: the
    job pings us), and then ``target`` is None too and the kind takes no settings."""

    name: str
    label: str
    settings: tuple[Setting, ...] = ()
    # Builds the probe target from a config; raises ValueError with a message for people.
    target: Callable[..., Any] | None = None
    probe: Probe | None = None
    # The setting that names the probed host: where a refused target is reported.
    target_setting: str = ""

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(setting.key for setting in self.settings)

    def setting(self, key: str) -> Setting | None:
        return next((setting for setting in self.settings if setting.key == key), None)
