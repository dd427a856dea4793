from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "statuspage.web"
    label = "web"
