from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "statuspage.core"
    label = "core"

    def ready(self) -> None:
        from statuspage.core import checks  # noqa: F401  (registers system checks)
