from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "statuspage.catalog"
    label = "catalog"
    verbose_name = "Service catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from statuspage.catalog.models import Service
        from statuspage.core.status_version import row_changed

        # Cached public pages: see statuspage.core.status_version.
        post_save.connect(row_changed, sender=Service, dispatch_uid="service-saved-status")
        post_delete.connect(row_changed, sender=Service, dispatch_uid="service-deleted-status")
