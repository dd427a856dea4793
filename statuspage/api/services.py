"""Writes of the API app: tokens are created, used and revoked only here."""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from statuspage.api.models import ApiToken, Scope, validate_scopes
from statuspage.catalog.models import Team

security_log = logging.getLogger("statuspage.security")

_TOKEN = re.compile(r"^sp_(?P<prefix>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{43})$")
# last_used_at moves in steps of this size: one UPDATE per step per token, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, team: Team, name: str, scopes: list[str], created_by: AbstractBaseUser
) -> tuple[ApiToken, str]:
    """Create a token; returns it and its plaintext, which is never available again.

    ``created_by`` is the token's owner: the token works only while that account exists
    and is active, so closing an account retires every token it made.

    1. Refuse a token without an active owner.
    2. Draw a public prefix (8 hex digits) and a 256-bit secret.
    3. Store the prefix and the SHA-256 of the whole token, never the token itself; a
       prefix already taken (about one in four billion) draws again.
    4. Log the creation (prefix, team, scopes, who) to the security log.
    """
    if created_by is None or not created_by.pk or not created_by.is_active:
        raise ValidationError("an API token needs an active user as its owner")
    validate_scopes(scopes)
    scopes = sorted(set(scopes), key=Scope.values.index)
    token, raw = _token_insert(team=team, name=name, scopes=scopes, created_by=created_by)
    security_log.info(
        "event=api_token.created token=%s team=%s scopes=%s user_id=%s",
        token.prefix,
        team.slug,
        ",".join(scopes),
        created_by.pk,
    )
    return token, raw


def _token_insert(
    *, team: Team, name: str, scopes: list[str], created_by: AbstractBaseUser
) -> tuple[ApiToken, str]:
    """Store a new token under a fresh prefix, drawing again while the prefix is taken."""
    for _ in range(5):
        prefix = secrets.token_hex(4)
        raw = f"sp_{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            team=team,
            name=name,
            prefix=prefix,
            secret_hash=token_hash(raw),
            scopes=scopes,
            created_by=created_by,
        )
        token.full_clean()
        try:
            with transaction.atomic():
                token.save()
        except IntegrityError:
            if ApiToken.objects.filter(prefix=prefix).exists():
                continue
            raise
        return token, raw
    raise RuntimeError("could not draw a free token prefix")


def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser | None) -> bool:
    """Revoke a token for good; returns False if it was revoked already."""
    now = timezone.now()
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    if not updated:
        return False
    token.revoked_at, token.revoked_by = now, by
    security_log.info(
        "event=api_token.revoked token=%s team_id=%s user_id=%s",
        token.prefix,
        token.team_id,
        by.pk if by else "-",
    )
    return True


def _retired(token: ApiToken) -> str | None:
    """Why a token that matched no longer works, or None while it does."""
    if token.revoked_at is not None:
        return "revoked"
    owner = token.created_by
    if owner is None or not owner.is_active:
        # The owner's account was deleted (the column was nulled) or deactivated.
        return "owner_inactive"
    return None


def api_token_authenticate(
    raw: str, *, origin: str = "-", now: datetime | None = None
) -> ApiToken | None:
    """The live token whose plaintext is ``raw``, or None. ``origin`` (the client address)
    only goes into the security log, like the token's prefix; the secret never does.

    Recording the use is a conditional UPDATE, so concurrent requests write at most once
    per ``LAST_USED_RESOLUTION`` per token.
    """
    now = now or timezone.now()
    match = _TOKEN.match(raw)
    if match is None:
        security_log.warning("event=api_token.rejected reason=malformed origin=%s", origin)
        return None
    prefix = match["prefix"]
    token = ApiToken.objects.select_related("team", "created_by").filter(prefix=prefix).first()
    # compare_digest: the time taken does not tell how much of the hash matched.
    if token is None or not hmac.compare_digest(token.secret_hash, token_hash(raw)):
        security_log.warning(
            "event=api_token.rejected reason=unknown token=%s origin=%s", prefix, origin
        )
        return None
    reason = _retired(token)
    if reason is not None:
        security_log.warning(
            "event=api_token.rejected reason=%s token=%s team=%s origin=%s",
            reason,
            prefix,
            token.team.slug,
            origin,
        )
        return None
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    security_log.info(
        "event=api_token.used token=%s team=%s origin=%s", prefix, token.team.slug, origin
    )
    return token
