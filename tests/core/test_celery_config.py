from django.conf import settings

from statuspage.celery import app


def test_every_task_has_a_hard_time_limit_well_under_the_visibility_timeout():
    import checks.tasks
    import statuspage.core.tasks  # noqa: F401  (registers the tasks)

    assert checks.tasks
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"core.heartbeat", "checks.dispatch_due", "checks.probe_batch"} <= set(ours)
    limits = {name: task.time_limit or app.conf.task_time_limit for name, task in ours.items()}
    assert all(limits.values()), limits
    visibility = app.conf.broker_transport_options.get("visibility_timeout")
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert visibility >= 2 * max(limits.values())


def test_messages_are_json_only_and_acknowledged_late():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_ignore_result is True


def test_beat_schedule_ticks_dispatch_every_few_seconds_and_drops_stale_ticks():
    entry = app.conf.beat_schedule["dispatch-due"]
    assert entry["task"] == "checks.dispatch_due"
    assert entry["schedule"] <= 5
    assert entry["options"]["expires"] >= entry["schedule"]


def test_probe_batches_have_their_own_queue_and_a_plain_worker_consumes_both():
    assert app.conf.task_routes["checks.probe_batch"]["queue"] == "probes"
    assert {queue.name for queue in app.conf.task_queues} == {"celery", "probes"}


def test_every_scheduled_task_exists():
    import checks.tasks
    import statuspage.alerts.tasks
    import statuspage.core.tasks
    import statuspage.incidents.tasks  # noqa: F401  (registers the tasks)

    assert checks.tasks
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    missing = scheduled - set(app.tasks)
    assert not missing, f"beat schedules tasks nobody defines: {missing}"
