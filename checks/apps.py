from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    label = "checks"
    verbose_name = "Checks"

    def ready(self) -> None:
        # A mistyped target allowlist stops every process at start, not the first probe.
        from checks.definitions import allow_private_targets

        allow_private_targets()

        # The catalog's import cannot know the engine (the arrows point from checks to the
        # catalog), so the engine plugs its "checks:" section of each service in here.
        from checks.sync import ChecksSection
        from statuspage.catalog.sync_sections import register_service_section

        register_service_section(ChecksSection())

        # Cached public pages: see statuspage.core.status_version. The engine's own writes
        # (states, schedules) are UPDATEs that send no signal; transitions bump themselves.
        from django.db.models.signals import post_delete, post_save

        from checks.models import Check
        from statuspage.core.status_version import row_changed

        post_save.connect(row_changed, sender=Check, dispatch_uid="check-saved-status")
        post_delete.connect(row_changed, sender=Check, dispatch_uid="check-deleted-status")
