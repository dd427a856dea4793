"""Time limits, expiries and the Redis visibility timeout fit together.

A task running longer than the visibility timeout would be handed to a second worker while
it runs; a task waiting in the queue longer than it would come back after a worker died
only when it no longer matters. So every hard limit is at most CELERY_TASK_TIME_LIMIT, and
every expiry, retry delay or countdown is at most the visibility timeout.
"""

import contextlib
from importlib import import_module

from django.apps import apps
from django.conf import settings

from statuspage.celery import app

MAX_HARD_LIMIT_S = 240


def project_tasks():
    """Every installed app's tasks module, imported, then the tasks Celery knows."""
    for config in apps.get_app_configs():
        with contextlib.suppress(ModuleNotFoundError):
            import_module(f"{config.name}.tasks")
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_visibility_timeout_is_derived_from_the_task_time_limit():
    assert settings.CELERY_TASK_TIME_LIMIT <= MAX_HARD_LIMIT_S
    assert settings.CELERY_VISIBILITY_TIMEOUT == 2 * settings.CELERY_TASK_TIME_LIMIT + 60
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        options = app.conf.broker_transport_options
        assert options["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT


def test_every_task_has_a_hard_limit_within_the_global_one():
    tasks = project_tasks()
    assert "checks.probe_batch" in tasks and "checks.record_gaps" in tasks
    for name, task in tasks.items():
        limit = task.time_limit or app.conf.task_time_limit
        assert limit is not None, name
        assert limit <= settings.CELERY_TASK_TIME_LIMIT, name
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert soft is not None and soft < limit, name


def test_retries_and_expiries_stay_within_the_visibility_timeout():
    visibility = settings.CELERY_VISIBILITY_TIMEOUT
    for name, task in project_tasks().items():
        assert (task.default_retry_delay or 0) <= visibility, name
        assert (getattr(task, "retry_backoff_max", 0) or 0) <= visibility, name
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name} is queued with no expiry"
        assert expires <= visibility, name
