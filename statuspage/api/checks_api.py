"""Checks as code over HTTP: create or update a service's check by name, list its checks.

Definitions are validated by the same rules as the admin and the YAML import
(checks.definitions through Check.clean); every problem comes back as a 422 naming its field.
The kinds and their settings are those of the registry (checks.kinds).
"""

import logging
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Path, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import ConfigDict

from checks.definitions import FIELD_NAMES
from checks.models import Check, Kind
from checks.sealing import config_keep_masked, config_masked
from checks.services import check_upsert
from statuspage.api.auth import TokenAuth
from statuspage.api.models import ApiToken, Scope
from statuspage.api.schemas import SLUG, ErrorOut, ValidationErrorOut
from statuspage.catalog.models import Service

security_log = logging.getLogger("statuspage.security")
router = Router(tags=["checks"])
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    422: ValidationErrorOut,
    503: ErrorOut,
}
SlugPath = Annotated[str, Path(pattern=SLUG.pattern, max_length=120, description="Service slug.")]

# API field name -> Check field name, as in the YAML import.
FIELDS = {**FIELD_NAMES, "config": "config"}


class CheckIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # Any text: an unknown kind gets the registry's message from Check.clean, as in the
    # admin and the YAML import.
    kind: str = Field(description="A check kind of the registry, e.g. http, tcp, heartbeat.")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description='The kind\'s settings, e.g. {"url": "https://api.example.com/health", '
        '"conditions": ["ok == true"]}. Header values and URL passwords are stored encrypted '
        'and answered as "********"; sending "********" back keeps the stored value.',
    )
    interval: int | None = Field(None, description="Seconds between runs (at least 10).")
    timeout: float | None = Field(None, description="Seconds before a run counts as down.")
    degraded_ms: int | None = None
    # Limits are the definition rules' (checks.definitions), as for the admin and YAML.
    failures_before_down: int | None = None
    successes_before_up: int | None = None
    enabled: bool | None = None
    paused: bool | None = None
    grace: int | None = Field(None, description="Heartbeat: seconds of grace after a period.")
    cron: str | None = Field(None, description="Heartbeat: a cron expression instead of a period.")
    locations: list[str] | None = Field(
        None, description="Names of CHECK_LOCATIONS to probe from; [] for the default location."
    )
    quorum: int | None = Field(
        None, description="How many locations must see it down (default: a majority)."
    )


class CheckOut(Schema):
    id: int
    service: str
    name: str
    kind: str
    config: dict[str, Any]
    interval: int
    timeout: float
    degraded_ms: int | None
    enabled: bool
    paused: bool
    locations: list[str]
    state: str
    last_checked_at: str | None
    ping_url: str | None


def _service(request: HttpRequest, slug: str) -> Service:
    """The token's own team's service: another team's is as unknown as a missing one, so
    its checks (and their ping URLs) cannot even be confirmed to exist."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = Service.objects.filter(slug=slug).first()
    if service is not None and service.team_id != token.team_id:
        security_log.warning(
            "event=api_token.denied reason=team token=%s service=%s path=%s",
            token.prefix,
            slug,
            request.path,
        )
        service = None
    if service is None:
        raise HttpError(404, f"unknown service '{slug}'")
    return service


def _out(request: HttpRequest, check: Check, service: Service) -> dict[str, Any]:
    ping = None
    if check.kind == Kind.HEARTBEAT:
        ping = request.build_absolute_uri(reverse("ping", args=[check.ping_uuid]))
    return {
        "id": check.pk,
        "service": service.slug,
        "name": check.name,
        "kind": check.kind,
        "config": config_masked(check.config),
        "interval": check.interval_s,
        "timeout": check.timeout_s,
        "degraded_ms": check.degraded_ms,
        "enabled": check.is_enabled,
        "paused": check.is_paused,
        "locations": check.locations,
        "state": check.state,
        "last_checked_at": check.last_checked_at.isoformat() if check.last_checked_at else None,
        "ping_url": ping,
    }


def _invalid(exc: DjangoValidationError) -> ValidationError:
    names = {model: api for api, model in FIELDS.items()}
    return ValidationError(
        [
            {"loc": ("body", "payload", names.get(field, field)), "msg": msg, "type": "invalid"}
            for field, messages in exc.message_dict.items()
            for msg in messages
        ]
    )


@router.put(
    "/services/{slug}/checks/{name}",
    response={200: CheckOut, 201: CheckOut, **ERRORS},
    auth=TokenAuth(Scope.CHECKS_WRITE),
    summary="Create or update a check",
    operation_id="check_put",
)
def check_put(request: HttpRequest, slug: SlugPath, name: str, payload: CheckIn) -> Status:
    """Create the service's check called `name`, or update the fields sent (scope
    `checks:write`). Fields left out keep their value (or the default for a new check)."""
    service = _service(request, slug)
    if not name.strip() or len(name) > 120:
        raise ValidationError(
            [{"loc": ("path", "name"), "msg": "1 to 120 characters", "type": "invalid"}]
        )
    sent = payload.model_dump(exclude_unset=True)
    values = {FIELDS[key]: value for key, value in sent.items() if value is not None}
    if "config" in values:
        # Secrets come back masked: sending a masked value back keeps the stored secret.
        current = Check.objects.filter(service=service, name=name).first()
        try:
            values["config"] = config_keep_masked(values["config"], current and current.config)
        except ValueError as exc:
            raise ValidationError(
                [{"loc": ("body", "payload", "config"), "msg": str(exc), "type": "invalid"}]
            ) from exc
    try:
        check, outcome = check_upsert(service=service, name=name, values=values, reason="api")
    except DjangoValidationError as exc:
        raise _invalid(exc) from exc
    return Status(201 if outcome == "created" else 200, _out(request, check, service))


@router.get(
    "/services/{slug}/checks",
    response={200: list[CheckOut], **ERRORS},
    auth=TokenAuth(Scope.READ),
    summary="List a service's checks",
    operation_id="check_list",
)
def check_list(request: HttpRequest, slug: SlugPath) -> list[dict[str, Any]]:
    service = _service(request, slug)
    return [_out(request, check, service) for check in Check.objects.filter(service=service)]
