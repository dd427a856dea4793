"""Plain factory functions with fixed values."""

from django.contrib.auth.models import Group

from statuspage.accounts.models import User
from statuspage.catalog.models import OwnerNote, Service, Team, Tier

PASSWORD = "correct-horse-battery-staple"


def make_team(slug: str, **fields) -> Team:
    defaults = {
        "name": slug.replace("-", " ").title(),
        "contact_email": f"{slug}@example.com",
        "chat_channel": f"#{slug}",
    }
    return Team.objects.create(slug=slug, **{**defaults, **fields})


def make_service(slug: str, *, team: Team, **fields) -> Service:
    defaults = {"name": slug.replace("-", " ").title(), "tier": Tier.NORMAL}
    service = Service.objects.create(slug=slug, team=team, **{**defaults, **fields})
    OwnerNote.objects.create(
        service=service,
        expected_result="GET /health returns 200 with ok=true",
        rollback_note="Redeploy the previous tag",
    )
    return service


def make_user(
    username: str, *, role: str | None = None, superuser: bool = False, staff: bool | None = None
) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        email=f"{username}@example.com",
        is_superuser=superuser,
        is_staff=staff if staff is not None else (superuser or role is not None),
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def token_owner(username: str = "ci-bot") -> User:
    """The active user an API token belongs to (one per name, made on first use)."""
    return User.objects.filter(username=username).first() or make_user(username)
