"""The Celery application shared by the web process, the worker and the scheduler.

The broker always comes from Django settings (REDIS_URL, CELERY_BROKER_URL, or the
embedded filesystem transport); a process that somehow lacks it stops with an error
instead of silently talking to a default broker on localhost.
"""

import os

from celery import Celery, bootsteps
from celery.signals import worker_init
from click import Option
from django.core.exceptions import ImproperlyConfigured

from statuspage.core import fsbroker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

fsbroker.register()
app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_configure.connect
def _require_broker(sender: Celery, **_: object) -> None:
    from django.conf import settings

    if not settings.CELERY_BROKER_URL:
        raise ImproperlyConfigured("No Celery broker configured (REDIS_URL or CELERY_BROKER_URL)")


@worker_init.connect
def _metrics_dir_ready(**_: object) -> None:
    """Before the pool forks: the files of this host's exited processes go."""
    from statuspage.core.metrics import metrics_dir_ready

    metrics_dir_ready()


app.conf.update(
    # JSON only: no pickle, so a message can never run code on the worker.
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    # No result backend: tasks write their outcome to the database themselves.
    task_ignore_result=True,
    result_backend=None,
    # Acknowledge after the task ran, and requeue if the worker process died, so a killed
    # worker loses nothing. Every task is safe to run twice (see each task's docstring).
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    enable_utc=True,
    beat_scheduler="statuspage.core.beat:HeartbeatScheduler",
)
app.autodiscover_tasks()


class LocationQueue(bootsteps.Step):
    """``celery -A statuspage worker --location NAME``: consume that location's probe queue
    and nothing else, as ``-Q`` with its queue would (see checks.locations)."""

    def __init__(self, worker: object, location: str | None = None, **options: object) -> None:
        if location:
            from checks.locations import location_queue, locations_configured

            if location not in locations_configured():
                raise ImproperlyConfigured(
                    f"--location {location!r} is not one of CHECK_LOCATIONS "
                    f"({', '.join(locations_configured())})"
                )
            worker.setup_queues([location_queue(location)])  # type: ignore[attr-defined]
        super().__init__(worker, **options)


app.user_options["worker"].add(
    Option(["--location"], default=None, help="Run the probes of this check location only.")
)
app.steps["worker"].add(LocationQueue)
