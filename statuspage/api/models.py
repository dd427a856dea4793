"""API tokens: one team's key to the JSON API, with scopes, stored hashed."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from statuspage.catalog.models import Team


class Scope(models.TextChoices):
    DEPLOYMENTS_WRITE = "deployments:write", "Record deployments"
    CHECKS_WRITE = "checks:write", "Create and change checks"
    READ = "read", "Read services and deployments"


def validate_scopes(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("choose at least one scope")
    unknown = sorted(set(map(str, value)) - set(Scope.values))
    if unknown:
        raise ValidationError(f"unknown scopes: {', '.join(unknown)}")


class ApiToken(models.Model):
    """A team's API token. The secret is shown once at creation; only its SHA-256 is kept.

    A token reads ``sp_<prefix>_<secret>``. The prefix finds the row and is shown in lists
    and logs; the secret never is. A plain SHA-256 suffices (no slow password hash): the
    secret is 256 random bits, so there is nothing to guess, and a slow hash would cost
    every API request.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'CI deploy step'.")
    # Unique, so indexed: the lookup of every authenticated request goes by prefix.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, validators=[validate_scopes])
    # The owner: the token is refused once this account is deactivated or deleted (which
    # nulls the column). api_token_create refuses a token without one.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "API token"
        ordering = ["team__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} (sp_{self.prefix}_…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
