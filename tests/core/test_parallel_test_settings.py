"""tests/settings.py: what each parallel test process gets of its own."""

import pytest

from tests.settings import BASE_DIR, worker_environment


def test_each_process_adds_its_number_to_the_redis_database():
    environ = {"REDIS_URL": "redis://127.0.0.1:6379/10"}
    assert worker_environment(environ, "gw0")["REDIS_URL"] == "redis://127.0.0.1:6379/10"
    assert worker_environment(environ, "gw2")["REDIS_URL"] == "redis://127.0.0.1:6379/12"


def test_a_redis_broker_moves_with_the_cache_and_a_folder_broker_stays():
    moved = worker_environment(
        {"REDIS_URL": "redis://h:6379", "CELERY_BROKER_URL": "redis://h:6379/3"}, "gw1"
    )
    assert moved["REDIS_URL"] == "redis://h:6379/1"
    assert moved["CELERY_BROKER_URL"] == "redis://h:6379/4"
    assert "CELERY_BROKER_URL" not in worker_environment({"CELERY_BROKER_URL": "safefs://"}, "gw1")


def test_each_process_has_its_own_var_and_metrics_folders():
    own = worker_environment({"STATUSPAGE_VAR_DIR": "/tmp/v"}, "gw1")
    assert own["STATUSPAGE_VAR_DIR"] == "/tmp/v/xdist-gw1"
    assert "PROMETHEUS_MULTIPROC_DIR" not in own  # derived from the var folder
    default = worker_environment({"PROMETHEUS_MULTIPROC_DIR": "/tmp/m"}, "gw0")
    assert default["STATUSPAGE_VAR_DIR"] == str(BASE_DIR / "var" / "xdist-gw0")
    assert default["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/m/xdist-gw0"


def test_more_processes_than_redis_databases_stop_the_run():
    with pytest.raises(RuntimeError, match="too few Redis databases"):
        worker_environment({"REDIS_URL": "redis://127.0.0.1:6379/14"}, "gw2")
