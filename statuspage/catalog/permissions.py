"""Who may change what in the catalog. Written once; the admin and later the API ask here.

Roles:
- admin: a superuser, or anyone holding ``catalog.change_service``: edits everything;
- editor: holds ``catalog.change_ownernote`` and edits the owner notes of services of the
  teams they belong to, and nothing else;
- viewer: any other signed-in user: reads.
"""

from django.contrib.auth.base_user import AbstractBaseUser

from statuspage.catalog.models import Service


def can_edit_service(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.has_perm("catalog.change_service"))


def can_edit_owner_note(user: AbstractBaseUser, service: Service | None) -> bool:
    """May ``user`` change the owner notes of ``service`` (None: of some service)?"""
    if not user.is_active:
        return False
    if can_edit_service(user):
        return True
    if not user.has_perm("catalog.change_ownernote"):
        return False
    if service is None:
        return True
    return service.team_id in member_team_ids(user)


def can_see_team_checks(user: AbstractBaseUser, team_id: int | None) -> bool:
    """May ``user`` see the checks of a team's service in the admin, and their ping URLs
    anywhere? Its members and admins only: a ping URL is enough to send a fake success."""
    if not user.is_active:
        return False
    if can_edit_service(user):
        return True
    return team_id is not None and team_id in member_team_ids(user)


def member_team_ids(user: AbstractBaseUser) -> set[int]:
    # Cached on the user object for the request: the admin asks once per inline and row.
    cached = getattr(user, "_member_team_ids", None)
    if cached is None:
        cached = set(user.teams.values_list("id", flat=True)) if user.is_authenticated else set()
        user._member_team_ids = cached
    return cached
