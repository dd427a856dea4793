from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "statuspage.incidents"
    label = "incidents"
    verbose_name = "Incidents and maintenance"
