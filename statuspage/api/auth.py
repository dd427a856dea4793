"""Bearer-token authentication of API v1: ``Authorization: Bearer sp_<prefix>_<secret>``.

No token, or a malformed, unknown or revoked one: 401 with ``WWW-Authenticate: Bearer``.
A live token without the operation's scope, or acting on another team's service: 403.
"""

import logging

from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from statuspage.api.models import ApiToken
from statuspage.api.services import api_token_authenticate
from statuspage.catalog.models import Service
from statuspage.core.client import client_address

security_log = logging.getLogger("statuspage.security")


class TokenAuth(HttpBearer):
    """A team's API token holding ``scope``."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = api_token_authenticate(token, origin=client_address(request) or "-")
        if api_token is None:
            return None
        if not api_token.has_scope(self.scope):
            security_log.warning(
                "event=api_token.denied reason=scope token=%s scope=%s path=%s",
                api_token.prefix,
                self.scope,
                request.path,
            )
            raise AuthorizationError(message=f"this token lacks the '{self.scope}' scope")
        return api_token


def require_own_service(request: HttpRequest, service: Service) -> None:
    """A token acts only on the services of its own team."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if service.team_id != token.team_id:
        security_log.warning(
            "event=api_token.denied reason=team token=%s service=%s path=%s",
            token.prefix,
            service.slug,
            request.path,
        )
        raise AuthorizationError(
            message=f"service '{service.slug}' belongs to another team than this token's"
        )
