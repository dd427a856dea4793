"""Every read of the catalog. Each returns evaluated data with its relations loaded."""

from statuspage.catalog.models import Service


def service_list() -> list[Service]:
    """All services with their team and owner notes, in display order."""
    return list(
        Service.objects.select_related("team", "owner_note").order_by(
            "team__name", "position", "name"
        )
    )
