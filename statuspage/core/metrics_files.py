"""Where the processes of one host keep their Prometheus metric files (multiprocess mode).

Every gunicorn worker and Celery process writes its counters and histograms to memory
mapped files in one folder, and a scrape adds them up. Nothing here imports Django: the
gunicorn master (gunicorn.conf.py) uses it before any settings are loaded.

Files are named after the host as well as the process id, so processes of several hosts
or containers may share one folder without two of them ever writing the same file.
"""

import os
import re
import socket
from functools import cache
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
ENV_NAME = "PROMETHEUS_MULTIPROC_DIR"
_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(?:(?P<host>[A-Za-z0-9.-]+)-)?(?P<pid>\d+)\.db$")


def metrics_dir(environ: os._Environ | dict[str, str] = os.environ) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, else ``metrics`` under the var dir the settings use."""
    explicit = environ.get(ENV_NAME)
    if explicit:
        return Path(explicit)
    return Path(environ.get("STATUSPAGE_VAR_DIR") or BASE_DIR / "var") / "metrics"


@cache
def host_name() -> str:
    """This host's name as it appears in file names (no underscore: it separates fields)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def process_identifier() -> str:
    return f"{host_name()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def metrics_dir_prepare(path: Path) -> list[str]:
    """Create the folder and remove the files of this host's processes that have exited.

    Called when a process tree starts (gunicorn master, Celery worker): files of live
    processes stay, so two trees starting side by side on one host never delete each
    other's files; files of other hosts are theirs to clean. Returns the removed names.
    """
    path.mkdir(parents=True, exist_ok=True)
    host = host_name()
    removed = []
    for entry in path.glob("*.db"):
        match = _FILE.match(entry.name)
        if match is None or match["host"] not in (host, None):
            continue
        if not _alive(int(match["pid"])):
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def mark_process_dead(pid: int, path: Path) -> None:
    """What prometheus_client's own helper does, for this host's file names: a dead
    process's live gauges must stop counting at once."""
    for entry in path.glob(f"gauge_live*_{host_name()}-{pid}.db"):
        entry.unlink(missing_ok=True)
