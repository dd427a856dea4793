"""Request and response bodies of API v1 (they are also its OpenAPI schema)."""

import re
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from ninja import Schema
from pydantic import AwareDatetime, ConfigDict, Field, field_validator

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
# A deployment clock slightly ahead of ours is normal; hours ahead is a time zone mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)
FILES_TOUCHED_MAX = 20_000


def _string_or_list(schema: dict[str, Any]) -> None:
    schema.pop("type", None)
    schema["anyOf"] = [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]


class DeploymentIn(Schema):
    """A deployment, as a CI pipeline or a person records it after the deploy step."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service: str = Field(
        min_length=1, max_length=120, description="Slug of the service, e.g. `checkout-api`."
    )
    version: str = Field(min_length=1, max_length=100, description="Version or build label.")
    ref: str = Field("", max_length=200, description="Commit SHA or tag.")
    actor: str = Field(
        min_length=1, max_length=150, description="Who deployed: a person or the pipeline."
    )
    deployed_at: AwareDatetime | None = Field(
        None,
        description="ISO 8601 with an offset, e.g. `2026-11-26T14:30:00+00:00`. Default: now.",
    )
    reason: str = Field("", max_length=10_000, description="Why this change was made.")
    files_touched: str = Field(
        "",
        description="Files or areas changed: one string, or a list (stored one per line).",
        json_schema_extra=_string_or_list,
    )
    command: str = Field("", max_length=2_000, description="The command used to deploy.")
    expected_metric: str = Field(
        "", max_length=200, description="The metric expected to move, e.g. `p95 latency`."
    )

    @field_validator("service")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a service slug: letters, digits, '-' and '_'")
        return value

    @field_validator("deployed_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # pydantic would also take a number as a Unix time; the contract is ISO 8601 text.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string with an offset")
        return value

    @field_validator("deployed_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
            raise ValueError("is in the future (check the offset)")
        return value

    @field_validator("files_touched", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise ValueError("must be a string or a list of strings")
            value = "\n".join(item.strip() for item in value)
        return value

    @field_validator("files_touched")
    @classmethod
    def _total(cls, text: str) -> str:
        if len(text) > FILES_TOUCHED_MAX:
            raise ValueError(f"must be at most {FILES_TOUCHED_MAX} characters in all")
        return text


class ImpactSide(Schema):
    count: int = Field(description="Results compared on this side.")
    p50_ms: float | None
    p95_ms: float | None
    failure_pct: float | None = Field(description="% of results down.")
    uptime_pct: float | None = Field(description="% of results up or degraded.")


class ImpactOut(Schema):
    verdict: str = Field(description="improved, unchanged, regressed or insufficient_data")
    reason: str = Field(description="The rule that decided, with its numbers.")
    window_s: int
    computed_at: datetime
    before: ImpactSide
    after: ImpactSide


class DeploymentOut(Schema):
    id: int
    service: str
    version: str
    ref: str
    actor: str
    deployed_at: datetime
    reason: str
    files_touched: str
    command: str
    expected_metric: str
    source: str
    url: str = Field(description="The service's page on the dashboard.")
    impact: ImpactOut | None = Field(
        description="Before/after comparison, once the window after the deployment has passed."
    )


class DeploymentPage(Schema):
    items: list[DeploymentOut]
    count: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, or null.")


class DeploymentQuery(Schema):
    service: str | None = Field(
        None,
        pattern=SLUG.pattern,
        max_length=120,
        description="Only this service's deployments (slug).",
    )
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class ServiceOut(Schema):
    slug: str
    name: str
    team: str
    tier: str
    url: str


class FieldError(Schema):
    field: str = Field(description="Dotted path of the field, or `body` for the whole body.")
    message: str
    type: str


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: str
    errors: list[FieldError]
