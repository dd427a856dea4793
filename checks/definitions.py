"""Validation of check definitions, shared by the admin, the YAML import and the API.

A check's kind-specific settings live in ``Check.config`` (JSON). ``definition_errors``
returns every problem as {field: [messages]}, so each caller can show them its own way;
``target_build`` turns a valid definition into the probe's target. What differs by kind
(its settings, its target) comes from the registry, ``checks.kinds``.
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from checks.conditions import ConditionSyntaxError
from checks.cron import CronError, cron_parse
from checks.kinds import KINDS
from checks.locations import locations_errors
from checks.probes.base import Target
from checks.screening import Allowlist, TargetRefused, screen_literal
from checks.sealing import config_unreadable

MIN_INTERVAL_S = 10
# A check's own fields as the YAML import and the API name them -> the model's attribute:
# both speak in seconds and plain words ("interval", "enabled") where the model says
# interval_s and is_enabled, and both report problems under these names.
FIELD_NAMES = {
    "kind": "kind",
    "interval": "interval_s",
    "timeout": "timeout_s",
    "degraded_ms": "degraded_ms",
    "failures_before_down": "failures_before_down",
    "successes_before_up": "successes_before_up",
    "enabled": "is_enabled",
    "paused": "is_paused",
    "grace": "grace_s",
    "cron": "cron",
    "locations": "locations",
    "quorum": "quorum",
}
MAX_TIMEOUT_S = 60.0


class DefinitionError(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def allow_private_targets() -> Allowlist:
    """The non-public addresses checks may reach (setting CHECK_PRIVATE_TARGETS)."""
    return _allowlist(tuple(settings.CHECK_PRIVATE_TARGETS))


@lru_cache(maxsize=4)
def _allowlist(items: tuple[str, ...]) -> Allowlist:
    try:
        return Allowlist.parse(items)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CHECK_PRIVATE_TARGETS: {exc}") from None


def target_build(kind: str, config: Mapping[str, Any], *, degraded_ms: float | None) -> Target:
    """The probe target of a valid definition (raises DefinitionError otherwise)."""
    # Built once: the target validation builds is the probe's target.
    target, errors = _config_target(kind, config, degraded_ms=degraded_ms)
    if errors:
        raise DefinitionError(errors)
    if target is None:
        raise DefinitionError({"kind": [f"{kind} checks are not probed"]})
    return target


def kind_unknown(kind: str) -> str:
    return f"unknown kind {kind!r}: use one of {', '.join(KINDS)}"


def definition_errors(
    *,
    kind: str,
    config: Any,
    interval_s: int | None,
    timeout_s: float | None,
    degraded_ms: float | None = None,
    cron: str = "",
    failures_before_down: int | None = None,
    successes_before_up: int | None = None,
    locations: object = None,
    quorum: int | None = None,
) -> dict[str, list[str]]:
    """Every problem of a check definition, by field name (empty when valid)."""
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        return {"kind": [kind_unknown(kind)]}
    errors.update(locations_errors(locations, quorum))
    if locations and KINDS[kind].probe is None and "locations" not in errors:
        errors["locations"] = [f"{kind} checks are not probed, so they run from no location"]
    if interval_s is not None and interval_s < MIN_INTERVAL_S:
        errors["interval_s"] = [f"the interval must be at least {MIN_INTERVAL_S} seconds"]
    if timeout_s is not None and not 0 < timeout_s <= MAX_TIMEOUT_S:
        errors["timeout_s"] = [f"the timeout must be between 0 and {MAX_TIMEOUT_S:g} seconds"]
    elif timeout_s is not None and interval_s and timeout_s >= interval_s:
        errors["timeout_s"] = ["the timeout must be shorter than the interval"]
    if degraded_ms is not None and degraded_ms <= 0:
        errors["degraded_ms"] = ["the degraded threshold must be a positive number of ms"]
    for field, count in (
        ("failures_before_down", failures_before_down),
        ("successes_before_up", successes_before_up),
    ):
        if count is not None and count < 1:
            errors[field] = [f"{field.replace('_', ' ')} must be at least 1"]
    if cron:
        errors.update(_cron_errors(cron))
    if not isinstance(config, Mapping):
        errors["config"] = ["must be a mapping of settings"]
    else:
        errors.update(_config_errors(kind, config))
    return errors


def _config_errors(kind: str, config: Mapping[str, Any]) -> dict[str, list[str]]:
    return _config_target(kind, config)[1]


def _config_target(
    kind: str, config: Mapping[str, Any], *, degraded_ms: float | None = None
) -> tuple[Target | None, dict[str, list[str]]]:
    """The target of a kind's settings and their problems (no target when there are any,
    or when the kind is not probed)."""
    check_kind = KINDS[kind]
    unknown = sorted(set(config) - check_kind.keys)
    if unknown:
        allowed = ", ".join(sorted(check_kind.keys)) or "none"
        return None, {"config": [f"unknown setting(s) {', '.join(unknown)} for a {kind} "
                                 f"check (allowed: {allowed})"]}  # fmt: skip
    if check_kind.target is None:
        return None, {}
    unreadable = config_unreadable(config)
    if unreadable:
        names = ", ".join(unreadable)
        return None, {"config": [f"{names}: cannot be decrypted with CHECK_SECRET_KEYS"]}
    try:
        target = check_kind.target(**config, degraded_ms=degraded_ms)
    except ConditionSyntaxError as exc:
        return None, {"config": [f"conditions: {exc}"]}
    except (TypeError, ValueError) as exc:
        return None, {"config": [_readable(exc)]}
    host = getattr(target, "host", None) or getattr(target, "nameserver", None)
    if host:
        try:
            screen_literal(host, allow_private=allow_private_targets())
        except TargetRefused as exc:
            return None, {"config": [f"target refused: {exc.message}"]}
    return target, {}


def _readable(exc: Exception) -> str:
    text = str(exc)
    if "missing" in text and "required positional argument" in text:
        missing = text.split(":", 1)[-1].strip().replace("'", "")
        return f"required setting(s) missing: {missing}"
    return text


def _cron_errors(cron: str) -> dict[str, list[str]]:
    try:
        cron_parse(cron)
    except CronError as exc:
        return {"cron": [str(exc)]}
    return {}
