from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo installation `make run` loads: catalog, checks, history, a deployment and
    an incident. It sits above every other app and holds no models."""

    name = "statuspage.demo"
    label = "demo"
