"""The role groups, kept in step with the code after every migrate.

Viewers are any signed-in users and need no group. Editors change the owner notes of their
own teams' services (the team check lives in statuspage.catalog.permissions). Catalog admins
edit the whole catalog. Incident writers open and update incidents and scheduled maintenance,
on the team site and in the admin (deleting stays with superusers). Superusers can do
everything.
"""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Editors": [
        "catalog.view_team",
        "catalog.view_service",
        "catalog.view_deployment",
        "catalog.view_ownernote",
        "catalog.change_ownernote",
    ],
    "Catalog admins": [
        f"catalog.{action}_{model}"
        for model in ("team", "service", "ownernote", "deployment")
        for action in ("view", "add", "change", "delete")
    ],
    "Incident writers": [
        "incidents.write_incident",
        *(
            f"incidents.{action}_{model}"
            for model in ("incident", "incidentupdate", "maintenance", "maintenanceupdate")
            for action in ("view", "add", "change")
        ),
        # Removing a service from an incident's affected list deletes its row.
        *(f"incidents.{action}_incidentservice" for action in ("view", "add", "change", "delete")),
    ],
}


def role_groups_sync(**kwargs) -> None:
    """Create the role groups and set exactly their permissions. Safe to run any time."""
    if not global_apps.is_installed("django.contrib.auth"):
        return
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
