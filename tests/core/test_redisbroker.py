"""The Redis broker transport survives a restart of a real, private redis-server."""

import pytest
from django.conf import settings
from kombu import Connection, Queue

from tests.private_servers import RedisServer

TRANSPORT = "statuspage.core.redisbroker:Transport"


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def deliver_one(connection: Connection):
    """Publish a message and receive it unacknowledged, as a worker running a task holds it."""
    queue = Queue("probes")
    with connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key="probes", declare=[queue], serializer="json")
    received = []
    consumer = connection.Consumer(queue, callbacks=[lambda _body, msg: received.append(msg)])
    consumer.consume()
    connection.drain_events(timeout=5)
    return received[0]


def test_redis_brokers_use_the_restart_safe_transport():
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        assert settings.CELERY_BROKER_TRANSPORT == TRANSPORT
    else:
        assert "CELERY_BROKER_TRANSPORT" not in dir(settings)


def test_message_of_a_closed_connection_is_acked_after_redis_restarts(redis_server):
    """The state a worker is in when Redis restarts under a running task: the consumer closed
    the broken connection (kombu detaches its transport), the channel's pool was dropped,
    and the task then finishes and acks on that channel. kombu's stock channel rebuilds its
    pool from the detached transport and raises AttributeError ('hostname'), which kills
    the worker; this one reconnects with the parameters it was opened with."""
    connection = Connection(redis_server.url, transport=TRANSPORT)
    message = deliver_one(connection)
    channel = message.channel
    redis_server.restart(down_s=0.2)
    channel._disconnect_pools()
    connection._do_close_transport()
    assert channel.connection.client is None
    message.ack()
    assert message.acknowledged
    with Connection(redis_server.url) as fresh:
        assert fresh.default_channel.client.ping()


def test_channel_that_never_connected_reports_a_connection_error(redis_server):
    connection = Connection(redis_server.url, transport=TRANSPORT)
    channel = connection.channel()
    channel._saved_connparams = {}
    channel._disconnect_pools()
    connection._do_close_transport()
    with pytest.raises(channel.connection_errors):
        channel.pool  # noqa: B018 (the pool is built on first use)
