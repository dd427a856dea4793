"""The compose file's Prometheus folder: one volume for web, worker and beat, so a scrape
of web adds up what the worker counted (statuspage/core/metrics_files.py)."""

import re
from pathlib import Path

import pytest
import yaml

from statuspage.core.metrics_files import ENV_NAME

ROOT = Path(__file__).resolve().parents[2]
COUNTING = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def metrics_mount(service: dict) -> tuple[str, str]:
    """(volume, path in the container) of the service's multiprocess folder."""
    folder = service["environment"][ENV_NAME]
    for mount in service.get("volumes", []):
        source, _, target = mount.partition(":")
        if target.split(":")[0] == folder:
            return source, folder
    raise AssertionError(f"{ENV_NAME}={folder} is not a mounted volume")


def test_web_worker_and_beat_share_one_named_volume_for_metric_files(compose):
    services = compose["services"]
    mounts = {name: metrics_mount(services[name]) for name in COUNTING}
    assert len(set(mounts.values())) == 1, mounts
    volume, _ = mounts["web"]
    assert volume in compose["volumes"]  # a named volume, not a folder of one container


def test_each_container_keeps_its_own_host_name(compose):
    # File names carry the host name and pid: containers with one name would write the
    # same files (pids repeat across containers) and clear each other's.
    pinned = [name for name in COUNTING if "hostname" in compose["services"][name]]
    assert pinned == []


def test_the_folder_is_in_memory_and_owned_by_the_image_user(compose):
    volume, _ = metrics_mount(compose["services"]["web"])
    options = compose["volumes"][volume]["driver_opts"]
    user = re.search(r"--uid (\d+) --gid \w+", (ROOT / "Dockerfile").read_text())
    assert options["type"] == "tmpfs"
    assert f"uid={user[1]}" in options["o"].split(",")
