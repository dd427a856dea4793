from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    label = "checks"
    verbose_name = "Checks"
