"""kombu's Redis transport, kept alive across Redis restarts.

Selected for ``redis://`` brokers by ``CELERY_BROKER_TRANSPORT`` in the settings.

When the broker connection breaks, Celery's consumer collects and closes it, and kombu's
``Connection._close`` detaches the transport from its connection (``transport.client =
None``). A channel of that connection can outlive it: a message delivered on it is still
being processed, and its late ack, a requeue or an interrupted ``close()`` rebuilds the
channel's Redis pool from ``self.connection.client``, which is now ``None``. The worker
then dies with ``AttributeError: 'NoneType' object has no attribute 'hostname'`` instead of
treating it as the connection error it is.

Here each channel keeps the connection parameters it was opened with, so a channel left
over from a broken connection still reaches Redis once it is back (an ack of a finished
task then succeeds, and a requeue lands in the restarted server). A channel that never
built its parameters and has lost its connection raises a connection error, which kombu
and Celery already handle by reconnecting.
"""

from kombu.transport import redis


class Channel(redis.Channel):
    _saved_connparams: dict | None = None

    def _connparams(self, asynchronous: bool = False) -> dict:
        saved = self._saved_connparams
        if saved is None:
            saved = self._saved_connparams = {}
        transport = self.connection
        if transport is None or transport.client is None:
            if asynchronous in saved:
                return dict(saved[asynchronous])
            raise redis.redis.exceptions.ConnectionError(
                "broker connection closed while its channel was still in use"
            )
        params = super()._connparams(asynchronous=asynchronous)
        saved[asynchronous] = dict(params)
        return params


class Transport(redis.Transport):
    Channel = Channel

    @property
    def supports_batch_publish(self) -> bool:
        # A transport detached from its connection publishes nothing: no batching.
        if self.client is None:
            return False
        return super().supports_batch_publish
