from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "statuspage.catalog"
    label = "catalog"
    verbose_name = "Service catalog"
