"""What every sender raises.

A sender either returns (the receiver accepted the message), raises `Retryable` (a timeout,
a 5xx, a 429: the same message may succeed later, after `retry_after_s` when the receiver
said so) or `Permanent` (any other refusal: retrying would only repeat it).

Every sender is `send(channel, message, *, key)`, where `message` is a
`statuspage.alerts.messages.Message` and `key` the delivery's idempotency key.
"""


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:500]


class Retryable(DeliveryError):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Permanent(DeliveryError):
    pass
