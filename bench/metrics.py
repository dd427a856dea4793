"""/metrics scrape benchmark: N checks, gunicorn as shipped, one scraper at a time.

    python bench/metrics.py --checks 10000 --scrapes 50

Uses DATABASE_URL / REDIS_URL (default: a `statuspage_bench` PostgreSQL database and Redis
database 9). Creates the checks under a `bench-metrics` team (states and latencies
spread over every value; kept between runs when the count matches), lets a few short
processes write lag and ping files into the multiprocess folder as a worker and web
workers would, starts gunicorn with two workers and a METRICS_TOKEN, and times whole
scrapes (connect to last byte) one after another, asking for gzip as Prometheus does.

Two rounds: `scrape_*` with the status version bumped before each scrape, so every
scrape reads and writes out every check (what a scrape every 15 s or more costs), then
`cached_*` without bumps (scrapes close together, served from each web process's copy).
`bytes` is the text, `sent_bytes` what went over the wire (`--no-gzip`: the text itself).
The last line is key=value pairs.
"""

import argparse
import gzip
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_environment,
    ensure_database,
    free_port,
    python,
    quantile,
    start,
    stop,
    team_checks_enabled,
    wait_for_port,
)

TEAM = "bench-metrics"
TOKEN = "bench-metrics-token"
STATES = ["up", "up", "up", "degraded", "down", "unknown", "paused"]


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def checks_ensure(count: int) -> None:
    """Exactly ``count`` checks under the benchmark team, with varied states."""
    from checks.models import Check, Kind
    from checks.scheduling import as_datetime
    from statuspage.catalog.models import Service, Team

    if Check.objects.filter(service__team__slug=TEAM).count() == count:
        return
    Check.objects.filter(service__team__slug=TEAM).delete()
    Service.objects.filter(team__slug=TEAM).delete()
    team, _ = Team.objects.get_or_create(slug=TEAM, defaults={"name": "Benchmark (metrics)"})
    services = Service.objects.bulk_create(
        Service(slug=f"{TEAM}-{i:03d}", name=f"Bench metrics {i:03d}", team=team)
        for i in range(max(1, count // 20))
    )
    parked = as_datetime(4_000_000_000)  # never due: the engine is not part of this bench
    Check.objects.bulk_create(
        (
            Check(
                service=services[i % len(services)],
                name=f"bench-{i:05d}",
                kind=Kind.HTTP,
                config={"url": f"http://127.0.0.1:9/health/{i}"},
                next_due_at=parked,
                state=STATES[i % len(STATES)],
                last_latency_ms=None if i % 11 == 0 else 5 + i % 700,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )


# What a worker's pool process and a web worker leave in the folder: lag and ping counts.
WRITER = """
import django, sys
django.setup()
from statuspage.core.metrics import ping_count, schedule_lag_observe
schedule_lag_observe(n / 7 for n in range(200))
for kind in ("success", "fail", "start"):
    for code in (200, 404, 429):
        ping_count(kind=kind, code=code)
"""


def files_write(env: dict[str, str], processes: int) -> None:
    for _ in range(processes):
        subprocess.run([sys.executable, "-c", WRITER], env=env, check=True)


def scrape(port: int, packed: bool = True) -> tuple[float, bytes, int]:
    """(milliseconds, text, bytes sent) of one whole scrape on a fresh connection."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if packed:
        headers["Accept-Encoding"] = "gzip"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    took = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"/metrics answered {response.status}: {body[:200]!r}")
    if (response.getheader("Content-Encoding") == "gzip") != packed:
        raise SystemExit("/metrics answered with the wrong Content-Encoding")
    return took, gzip.decompress(body) if packed else body, len(body)


def content_verify(text: bytes, checks: int) -> None:
    """Every check has its up and state samples; the worker's lag made it into the scrape."""
    lines = text.splitlines()
    for name in (b"statuspage_check_up{", b"statuspage_check_state{"):
        found = sum(line.startswith(name) for line in lines)
        if found != checks:
            raise SystemExit(f"{name.decode()} has {found} samples, not {checks}")
    if not any(line.startswith(b"statuspage_schedule_lag_seconds_count") for line in lines):
        raise SystemExit("the schedule lag histogram is missing")


def scrapes_time(port: int, count: int, packed: bool, before=None):
    """(milliseconds of each scrape, the last text, its bytes sent)."""
    timings, text, sent = [], b"", 0
    for _ in range(count):
        if before is not None:
            before()
        took, text, sent = scrape(port, packed)
        timings.append(took)
    return timings, text, sent


def run(args: argparse.Namespace) -> dict[str, object]:
    env = bench_environment()
    ensure_database(env["DATABASE_URL"])
    setup_django()
    checks_ensure(args.checks)
    from statuspage.core.status_version import status_version_bump

    port = free_port()
    with team_checks_enabled(TEAM), tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        senv = {
            **env, "METRICS_TOKEN": TOKEN, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(Path(tmp) / "metrics"),
        }  # fmt: skip
        server = start(
            python("-m", "gunicorn", "statuspage.wsgi", "--workers=2", f"--bind=127.0.0.1:{port}",
                   "--no-control-socket", "--log-level=warning"),
            senv, Path(tmp) / "gunicorn.log",
        )  # fmt: skip
        try:
            wait_for_port(port)
            # After the start: the master clears exited processes' files when it starts.
            files_write(senv, args.writers)
            for _ in range(4):  # both workers import, connect and fill their caches
                scrape(port)
            packed = not args.no_gzip
            cold, text, sent = scrapes_time(port, args.scrapes, packed, status_version_bump)
            content_verify(text, args.checks)
            cached, _, _ = scrapes_time(port, args.scrapes, packed)
            files = len(os.listdir(Path(tmp) / "metrics"))
        finally:
            stop(server)
    return {
        "checks": args.checks,
        "scrape_p50_ms": round(quantile(cold, 0.5), 1),
        "scrape_p99_ms": round(quantile(cold, 0.99), 1),
        "cached_p50_ms": round(quantile(cached, 0.5), 1),
        "cached_p99_ms": round(quantile(cached, 0.99), 1),
        "bytes": len(text),
        "sent_bytes": sent,
        "metric_files": files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=50, help="scrapes in each round")
    parser.add_argument("--no-gzip", action="store_true", help="do not ask for gzip")
    parser.add_argument("--writers", type=int, default=4, help="processes writing metric files")
    result = run(parser.parse_args())
    print(" ".join(f"{key}={value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
