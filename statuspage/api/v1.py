"""The JSON API, version 1 (tokens, deployments), with its OpenAPI schema and docs.

Every error is JSON with a ``detail`` sentence: 400 unreadable body (or a NUL character
anywhere), 401 no or bad token (with ``WWW-Authenticate: Bearer``), 403 missing scope or
another team's service, 404 unknown service, 413 body too large, 422 invalid fields
(``errors`` names each field), 503 database unreachable (with ``Retry-After``).
Validation runs before the view, and the one write goes through ``deployment_record`` in
a transaction, so no error leaves anything written.
"""

import json
import logging
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from statuspage.api.alerts_api import router as alerts_router
from statuspage.api.auth import TokenAuth, require_own_service
from statuspage.api.checks_api import router as checks_router
from statuspage.api.models import ApiToken, Scope
from statuspage.api.schemas import (
    DeploymentIn,
    DeploymentOut,
    DeploymentPage,
    DeploymentQuery,
    ErrorOut,
    ServiceOut,
    ValidationErrorOut,
)
from statuspage.catalog.models import Deployment, DeploymentSource, Service
from statuspage.catalog.services import deployment_record
from statuspage.core.errors import database_unavailable

security_log = logging.getLogger("statuspage.security")

# Deployment records are small; a CI step sending more is broken, not verbose.
MAX_BODY_BYTES = 64 * 1024

DESCRIPTION = """
Record deployments from CI and read them back with their before/after verdicts.

Authenticate with a team's API token: `Authorization: Bearer sp_<prefix>_<secret>`.
Tokens are created in the admin (API tokens), shown once, and carry scopes:
`deployments:write` to record deployments, `read` to list services and deployments.
A token acts only on its own team's services.

After the deploy step of a pipeline:

```
curl -fsS -X POST "$STATUS_URL/api/v1/deployments" \\
  -H "Authorization: Bearer $STATUS_TOKEN" -H "Content-Type: application/json" \\
  -d '{"service": "checkout-api", "version": "1.4.2", "ref": "3f2a9c1", "actor": "ci"}'
```
"""


class BodyTooLarge(Exception):
    pass


class NulInBody(Exception):
    pass


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class LimitedJsonParser(Parser):
    """JSON bodies up to MAX_BODY_BYTES; larger ones are refused before they are parsed."""

    def parse_body(self, request: HttpRequest) -> Any:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or (
            len(request.body) > MAX_BODY_BYTES
        ):
            raise BodyTooLarge
        data = json.loads(request.body)
        # PostgreSQL text cannot hold NUL: refused here rather than failing on write.
        if _has_nul(data):
            raise NulInBody
        return data


api = NinjaAPI(
    title="Status dashboard API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=LimitedJsonParser(),
)

# 503: the database is unreachable (with Retry-After); see statuspage/core/errors.py.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ValidationErrorOut,
    503: ErrorOut,
}


# --- Errors ------------------------------------------------------------------------------


def _error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if "Authorization" in request.headers:
        response = _error(request, 401, "invalid, unknown or revoked token")
        response["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    else:
        response = _error(
            request, 401, "authentication required: send 'Authorization: Bearer <token>'"
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja turns every failure of the body parser into a bare 400; say what it was.
    cause = exc.__cause__
    if isinstance(cause, BodyTooLarge):
        return _too_large(request, cause)
    if isinstance(cause, NulInBody):
        return _error(request, 400, "the JSON body contains a NUL character (\\u0000)")
    if exc.status_code == 400 and cause is not None:
        return _error(request, 400, f"request body is not valid JSON: {cause}")
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 413, f"request body is larger than {MAX_BODY_BYTES // 1024} KB")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_down(request: HttpRequest, exc: Exception) -> HttpResponse:
    return database_unavailable(request)


MESSAGES = {
    "missing": "this field is required",
    "extra_forbidden": "unknown field",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """ninja's error list as [{field, message, type}]: ``field`` drops the location
    prefix ("body" and the parameter name, or "query")."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        source = loc.pop(0) if loc else "body"
        if source == "body" and loc:
            loc.pop(0)  # the view's parameter name
        kind = str(error.get("type", "invalid"))
        field = ".".join(loc) or "body"
        message = MESSAGES.get(kind) or str(error.get("msg", "invalid"))
        if field == "body" and kind == "missing":
            message = "a JSON object is required"
        out.append(
            {
                "field": field,
                "message": message.removeprefix("Value error, "),
                "type": kind,
            }
        )
    return out


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = field_errors(exc.errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _error(request, 422, f"invalid request: {summary}", errors=errors)


# --- Reads -----------------------------------------------------------------------------


def _service(slug: str) -> Service:
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise HttpError(404, f"unknown service '{slug}'")
    return service


def _service_url(request: HttpRequest, slug: str) -> str:
    return request.build_absolute_uri(f"/services/{slug}/")


def _side(impact: Any, side: str) -> dict[str, Any]:
    return {
        "count": getattr(impact, f"{side}_count"),
        "p50_ms": getattr(impact, f"{side}_p50_ms"),
        "p95_ms": getattr(impact, f"{side}_p95_ms"),
        "failure_pct": getattr(impact, f"{side}_failure_pct"),
        "uptime_pct": getattr(impact, f"{side}_uptime_pct"),
    }


def _deployment_out(request: HttpRequest, deployment: Deployment) -> dict[str, Any]:
    # A missing reverse one-to-one raises a subclass of AttributeError: getattr's default.
    impact = getattr(deployment, "impact", None)
    return {
        "id": deployment.pk,
        "service": deployment.service.slug,
        "version": deployment.version,
        "ref": deployment.ref,
        "actor": deployment.deployed_by,
        "deployed_at": deployment.deployed_at.astimezone(UTC),
        "reason": deployment.reason,
        "files_touched": deployment.files_touched,
        "command": deployment.command,
        "expected_metric": deployment.expected_metric,
        "source": deployment.source,
        "url": _service_url(request, deployment.service.slug),
        "impact": None
        if impact is None
        else {
            "verdict": impact.verdict,
            "reason": impact.reason,
            "window_s": impact.window_s,
            "computed_at": impact.computed_at,
            "before": _side(impact, "before"),
            "after": _side(impact, "after"),
        },
    }


# --- Endpoints ---------------------------------------------------------------------------


@api.post(
    "/deployments",
    response={201: DeploymentOut, 413: ErrorOut, **ERRORS},
    auth=TokenAuth(Scope.DEPLOYMENTS_WRITE),
    tags=["deployments"],
    summary="Record a deployment",
    operation_id="deployment_create",
)
def deployment_create(request: HttpRequest, payload: DeploymentIn) -> Status:
    """Record a deployment of one of the token's team's services (scope `deployments:write`).

    Once the comparison window after it has passed (DEPLOY_VERDICT_WINDOW_S), the service's
    latency, failure rate and uptime before and after are compared and a verdict is stored.
    """
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = _service(payload.service)
    require_own_service(request, service)
    try:
        deployment = deployment_record(
            service=service,
            version=payload.version,
            ref=payload.ref,
            deployed_by=payload.actor,
            deployed_at=payload.deployed_at,
            reason=payload.reason,
            files_touched=payload.files_touched,
            command=payload.command,
            expected_metric=payload.expected_metric,
            source=DeploymentSource.API,
        )
    except DjangoValidationError as exc:
        names = {"deployed_by": "actor"}
        raise ValidationError(
            [
                {"loc": ("body", "payload", names.get(field, field)), "msg": msg, "type": "invalid"}
                for field, messages in exc.message_dict.items()
                for msg in messages
            ]
        ) from exc
    security_log.info(
        "event=api.deployment_recorded token=%s service=%s deployment=%s",
        token.prefix,
        service.slug,
        deployment.pk,
    )
    return Status(201, _deployment_out(request, deployment))


@api.get(
    "/deployments",
    response={200: DeploymentPage, **ERRORS},
    auth=TokenAuth(Scope.READ),
    tags=["deployments"],
    summary="List deployments with their verdicts",
    operation_id="deployment_list",
)
def deployment_list(request: HttpRequest, filters: Query[DeploymentQuery]) -> dict[str, Any]:
    """The token's team's deployments, newest first, each with its before/after impact once
    computed (scope `read`). `service` narrows to one service; `limit` and `offset` page."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    deployments = (
        Deployment.objects.filter(service__team_id=token.team_id)
        .select_related("service", "impact")
        .order_by("-deployed_at", "-pk")
    )
    if filters.service is not None:
        service = _service(filters.service)
        require_own_service(request, service)
        deployments = deployments.filter(service=service)
    count = deployments.count()
    page = list(deployments[filters.offset : filters.offset + filters.limit])
    next_url = None
    if filters.offset + len(page) < count:
        query = {"limit": filters.limit, "offset": filters.offset + filters.limit}
        if filters.service is not None:
            query = {"service": filters.service, **query}
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
    return {
        "items": [_deployment_out(request, d) for d in page],
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "next": next_url,
    }


@api.get(
    "/services",
    response={200: list[ServiceOut], **ERRORS},
    auth=TokenAuth(Scope.READ),
    tags=["services"],
    summary="List the team's services",
    operation_id="service_list",
)
def service_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The services of the token's team (scope `read`)."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    services = Service.objects.filter(team_id=token.team_id).select_related("team")
    return [
        {
            "slug": s.slug,
            "name": s.name,
            "team": s.team.slug,
            "tier": s.tier,
            "url": _service_url(request, s.slug),
        }
        for s in services
    ]


# Checks as code: defined in their own module, served under the same API and schema.
api.add_router("", checks_router)
api.add_router("", alerts_router)
