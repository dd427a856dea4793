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
