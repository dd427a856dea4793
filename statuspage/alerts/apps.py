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

        # /ready shows staff the outbox's backlog and dead letters beside the other parts.
        from statuspage.alerts.readiness import outbox_part
        from statuspage.core.readiness import EXTRA_PARTS

        EXTRA_PARTS["outbox"] = outbox_part

        # A team's "channels:" in a catalog file (the catalog cannot import this app).
        from statuspage.alerts.sync import ChannelsSection
        from statuspage.catalog.sync_sections import register_team_section

        register_team_section(ChannelsSection())
