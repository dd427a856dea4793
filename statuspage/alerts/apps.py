from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "statuspage.alerts"
    label = "alerts"
    verbose_name = "Alerts and notifications"

    def ready(self) -> None:
        # The engine cannot import this app (it sits below it): it calls the functions
        # registered here inside its own write transactions.
        from checks import listeners
        from statuspage.alerts import events, transitions

        listeners.register(listeners.transition_listeners, transitions.transitions_notify)
        listeners.register(listeners.verdict_listeners, events.verdict_notify)
