"""The sender of each channel kind, in one place."""

from statuspage.alerts.models import ChannelKind
from statuspage.alerts.senders import apprise, email, slack, webhook

# Kinds whose sender speaks HTTP itself: sent concurrently in one event loop.
ASYNC_SENDERS = {ChannelKind.WEBHOOK: webhook.asend, ChannelKind.SLACK: slack.asend}
# Kinds with a blocking library underneath: sent from a small thread pool.
SYNC_SENDERS = {ChannelKind.EMAIL: email.send, ChannelKind.APPRISE: apprise.send}


def send(channel, message, *, key: str) -> None:
    """Send one message now, from synchronous code."""
    sender = {
        ChannelKind.WEBHOOK: webhook.send,
        ChannelKind.SLACK: slack.send,
        **SYNC_SENDERS,
    }[channel.kind]
    sender(channel, message, key=key)
