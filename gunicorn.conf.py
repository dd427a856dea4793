"""gunicorn settings read by every `gunicorn statuspage.wsgi` started from this folder
(`make run`, the container image, the tests). Command-line options still win.

The hooks keep the Prometheus multiprocess folder right: the master clears the files of
this host's exited processes before its workers start, and forgets a worker's live gauges
when the worker exits (statuspage/core/metrics_files.py).
"""

import os

from statuspage.core.metrics_files import (
    ENV_NAME,
    mark_process_dead,
    metrics_dir,
    metrics_dir_prepare,
)


def on_starting(server) -> None:
    path = metrics_dir(os.environ)
    # The workers inherit the folder the master cleaned, whatever their settings compute.
    os.environ[ENV_NAME] = str(path)
    metrics_dir_prepare(path)


def child_exit(server, worker) -> None:
    mark_process_dead(worker.pid, metrics_dir(os.environ))
