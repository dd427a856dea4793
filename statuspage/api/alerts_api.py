"""Notification channels as code over HTTP: list, create or update by name, delete.

A token acts on its own team's channels only. Reading needs the `read` scope; writing needs
`checks:write`, the scope that already configures what the team is alerted about. Targets
and signing secrets are answered masked; a signing secret made by the call that created it
(or that asked for a new one) is answered once, in that response only. Every rule is
`statuspage.alerts.channels`, shared with the admin and the catalog YAML.
"""

from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import ConfigDict

from checks.sealing import MASK
from statuspage.alerts.channels import channel_save
from statuspage.alerts.models import Channel, ChannelKind
from statuspage.api.auth import TokenAuth
from statuspage.api.models import ApiToken, Scope
from statuspage.api.schemas import ErrorOut, ValidationErrorOut

router = Router(tags=["alert channels"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut,
          422: ValidationErrorOut, 503: ErrorOut}  # fmt: skip
NamePath = Annotated[str, Path(min_length=1, max_length=100, description="Channel name.")]
SETTINGS = ("events", "min_tier", "escalation", "remind_every_s", "enabled")


class ChannelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["email", "webhook", "slack", "apprise"]
    target: str | None = Field(
        None,
        description="Email addresses (comma separated), the webhook URL or the Apprise URL. "
        'Required for a new channel; left out (or sent back masked, "********" inside) keeps '
        "the stored one.",
    )
    events: list[str] | None = Field(None, description="Event kinds heard; empty: all.")
    min_tier: Literal["critical", "high", "normal", "low"] | None = None
    escalation: bool | None = None
    remind_every_s: int | None = Field(None, description="Seconds between reminders.")
    enabled: bool | None = None
    new_signing_secret: bool = Field(
        False, description="Webhook: replace the signing secret; the new one is answered once."
    )


class ChannelOut(Schema):
    name: str
    kind: str
    target: str = Field(description="Masked: a target carries tokens.")
    signing_secret: str | None = Field(
        None, description="`whsec_...` in the response that made it, masked afterwards."
    )
    events: list[str]
    min_tier: str
    escalation: bool
    remind_every_s: int | None
    enabled: bool
    last_success_at: str | None
    last_failure_at: str | None
    last_failure_reason: str


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _out(channel: Channel, new_secret: str | None = None) -> dict[str, Any]:
    secret = None
    if channel.kind == ChannelKind.WEBHOOK:
        secret = new_secret or f"whsec_{MASK}"
    return {
        "name": channel.name,
        "kind": channel.kind,
        "target": channel.masked(),
        "signing_secret": secret,
        "events": channel.events,
        "min_tier": channel.min_tier,
        "escalation": channel.escalation,
        "remind_every_s": channel.remind_every_s,
        "enabled": channel.enabled,
        "last_success_at": _iso(channel.last_success_at),
        "last_failure_at": _iso(channel.last_failure_at),
        "last_failure_reason": channel.last_failure_reason,
    }


def _invalid(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(
        [
            {"loc": ("body", "payload", field), "msg": msg, "type": "invalid"}
            for field, messages in exc.message_dict.items()
            for msg in messages
        ]
    )


def _team_id(request: HttpRequest) -> int:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return token.team_id


@router.get(
    "/alerts/channels",
    response={200: list[ChannelOut], **ERRORS},
    auth=TokenAuth(Scope.READ),
    summary="List the team's notification channels",
    operation_id="alert_channel_list",
)
def channel_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(c) for c in Channel.objects.filter(team_id=_team_id(request))]


@router.put(
    "/alerts/channels/{name}",
    response={200: ChannelOut, 201: ChannelOut, **ERRORS},
    auth=TokenAuth(Scope.CHECKS_WRITE),
    summary="Create or update a notification channel",
    operation_id="alert_channel_put",
)
def channel_put(request: HttpRequest, name: NamePath, payload: ChannelIn) -> Status:
    """Create the team's channel `name`, or update the fields sent. A webhook channel gets
    a signing secret when it is created; it is in this response and never again."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    sent = payload.model_dump(exclude_unset=True)
    target = sent.get("target")
    if target is not None and MASK in target:
        target = None  # the masked value sent back: keep the stored target
    existing = Channel.objects.filter(team_id=token.team_id, name=name).first()
    if existing is None and target is None:
        raise ValidationError(
            [{"loc": ("body", "payload", "target"), "msg": "required", "type": "missing"}]
        )
    # Left out, or null: kept. remind_every_s null means "never remind", so it is sent on.
    fields = {
        key: sent[key]
        for key in SETTINGS
        if key in sent and (sent[key] is not None or key == "remind_every_s")
    }
    try:
        saved = channel_save(
            team=token.team,
            name=name,
            kind=payload.kind,
            target=target,
            fields=fields,
            new_secret=payload.new_signing_secret,
        )
    except DjangoValidationError as exc:
        raise _invalid(exc) from exc
    return Status(201 if saved.created else 200, _out(saved.channel, saved.new_secret))


@router.delete(
    "/alerts/channels/{name}",
    response={204: None, **ERRORS},
    auth=TokenAuth(Scope.CHECKS_WRITE),
    summary="Delete a notification channel",
    operation_id="alert_channel_delete",
)
def channel_delete(request: HttpRequest, name: NamePath) -> Status:
    with transaction.atomic():
        deleted, _ = Channel.objects.filter(team_id=_team_id(request), name=name).delete()
    if not deleted:
        raise HttpError(404, f"unknown channel '{name}'")
    return Status(204, None)
