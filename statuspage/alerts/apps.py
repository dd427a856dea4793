from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "statuspage.alerts"
    label = "alerts"
    verbose_name = "Alerts and notifications"
