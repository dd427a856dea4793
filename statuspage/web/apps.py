from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "statuspage.web"
    label = "web"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from statuspage.web.public_cache import past_days_refresh

        # The only hook that runs after the response has been sent, so the refresh of the
        # past days costs the page's reader nothing (see past_days_refresh).
        request_finished.connect(past_days_refresh, dispatch_uid="public-past-days-refresh")
