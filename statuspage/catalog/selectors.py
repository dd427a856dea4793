"""Every read of the catalog. Each returns evaluated data with its relations loaded."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from statuspage.catalog.models import OwnerNote, Service, Team


def service_list() -> list[Service]:
    """All services with their team and owner notes, in display order."""
    return list(
        Service.objects.select_related("team", "owner_note").order_by(
            "team__name", "position", "name"
        )
    )


# ---------------------------------------------------------------- sync_catalog's reads
# Plain values, not model instances: the import compares them with what the file says.


def usernames_existing(usernames: set[str]) -> frozenset[str]:
    """Which of ``usernames`` belong to existing users."""
    users = get_user_model().objects.filter(username__in=usernames)
    return frozenset(users.values_list("username", flat=True))


def team_names() -> dict[str, str]:
    """Slug -> name of every team."""
    return dict(Team.objects.values_list("slug", "name"))


def team_values(*, slugs: list[str], attrs: list[str]) -> dict[str, dict[str, Any]]:
    """Slug -> the given attributes, and "members": the set of usernames, of those teams."""
    teams = {
        row["slug"]: {**row, "members": set()}
        for row in Team.objects.filter(slug__in=slugs).values("slug", *attrs)
    }
    memberships = Team.members.through.objects.filter(team__slug__in=slugs)
    for team_slug, username in memberships.values_list("team__slug", "user__username"):
        teams[team_slug]["members"].add(username)
    return teams


def service_values(*, slugs: list[str], attrs: list[str]) -> dict[str, dict[str, Any]]:
    """Slug -> the given attributes, and "team": the team's slug, of those services."""
    rows = Service.objects.filter(slug__in=slugs).values("slug", "team__slug", *attrs)
    return {row["slug"]: {**row, "team": row["team__slug"]} for row in rows}


def owner_note_values(*, slugs: list[str], fields: list[str]) -> dict[str, dict[str, str]]:
    """Service slug -> the given owner note fields, of those services."""
    rows = OwnerNote.objects.filter(service__slug__in=slugs).values("service__slug", *fields)
    return {row.pop("service__slug"): row for row in rows}


def service_count_except(*, slugs: list[str]) -> int:
    """How many services exist besides those with the given slugs."""
    return Service.objects.exclude(slug__in=slugs).count()


def users_by_username(usernames: set[str]) -> dict[str, AbstractBaseUser]:
    """Username -> user, of those of ``usernames`` that exist."""
    users = get_user_model().objects.filter(username__in=usernames)
    return {user.get_username(): user for user in users}


def teams_by_slug(slugs: set[str]) -> dict[str, Team]:
    """Slug -> team, of those of ``slugs`` that exist."""
    return {team.slug: team for team in Team.objects.filter(slug__in=slugs)}
