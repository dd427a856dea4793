"""Say clearly which test service is unreachable before the suite starts."""

import os
import socket
import sys
from urllib.parse import urlsplit


def reachable(url: str, default_port: int) -> tuple[bool, str]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError as exc:
        return False, f"{host}:{port} ({exc.strerror or exc})"


def main() -> int:
    missing = []
    for name, default_port, start in (
        ("DATABASE_URL", 5432, "pg_ctlcluster <version> main start"),
        ("REDIS_URL", 6379, "redis-server --daemonize yes"),
    ):
        url = os.environ.get(name, "")
        if not url:
            continue
        ok, where = reachable(url, default_port)
        if not ok:
            missing.append(f"  {name}: nothing answers at {where}; start it (e.g. `{start}`)")
    if missing:
        print("error: the test suite needs PostgreSQL and Redis:", file=sys.stderr)
        print("\n".join(missing), file=sys.stderr)
        print("  or run the suite on the embedded default: make test-embedded", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
