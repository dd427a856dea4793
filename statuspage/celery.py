"""The Celery application shared by the web process, the worker and the scheduler.

The broker always comes from Django settings (REDIS_URL, CELERY_BROKER_URL, or the
embedded filesystem transport); a process that somehow lacks it stops with an error
instead of silently talking to a default broker on localhost.
"""

import os
import time

from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun, worker_init
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


@worker_init.connect
def _worker_started(**_: object) -> None:
    """Before the pool forks: batches that waited for this worker are told apart
    (checks.runner.STARTUP_GRACE_S)."""
    from checks.runner import worker_started

    worker_started(time.time())


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
    # Celery's Django fixup closes every database connection before and after each task,
    # and in a prefork child the whole connection pool with them: each task then pays for
    # new server connections (a PostgreSQL backend started per task). With a reuse count it
    # does that only every this many tasks; each task still hands its connection back to
    # the pool (below), and each child still starts with a pool of its own (the fixup's
    # worker_process_init closes whatever the parent had).
    CELERY_DB_REUSE_MAX=1000,
)
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connection_to_pool(task: object = None, **_: object) -> None:
    """Around each task, as around each web request: hand the connection back to the pool,
    or drop it if it broke (the server restarted), so the next task starts on a good one.
    A task run eagerly runs inside its caller's transaction, which must be left alone."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


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
