"""Notification benchmark: N services flip down, then up, and M webhook channels hear of it.

    python bench/notify.py --services 1000 --channels 2
    ALERTS_GROUP_WINDOW_S=0 python bench/notify.py --services 1000 --channels 2

Uses DATABASE_URL / REDIS_URL (default: a `statuspage_bench` PostgreSQL database and Redis
database 9). Starts M local receivers that verify the Standard Webhooks signature, creates
N services of a `bench-notify` team with one check each and M signed webhook channels, and
runs a real Celery worker (and beat, for the retry sweep). The flips go through the
engine's own write path (checks.services.results_record) in batches, as probe batches
would, so each transition and its outbox rows commit together; the time of each commit is
the start of that transition's latency, its first arrival at a receiver the end.

Last line: transitions= expected= delivered= duplicates= lost= grouped_messages= p50_s= p99_s=
(expected: transitions times channels; duplicates: an event that reached a channel under
two different webhook-ids; a retry under the same webhook-id is not one.)
"""

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections import defaultdict
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
    wait_for_log,
)

TEAM = "bench-notify"
BATCH = 100  # observations per write, the size of a probe batch
SECRET = "whsec_YmVuY2gtbm90aWZ5LXNpZ25pbmcta2V5LTAxMjM0NTY="


class Receivers:
    """M local webhook receivers in one event loop on a thread of their own."""

    def __init__(self, count: int) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.lock = threading.Lock()
        # (channel index, event key) -> {webhook-id: first arrival}
        self.arrivals: dict[tuple[int, str], dict[str, float]] = defaultdict(dict)
        self.messages = 0
        self.grouped = 0
        self.rejected = 0
        self.loop = asyncio.new_event_loop()
        self.runners: list = []

    async def _handle(self, index: int, request) -> object:
        from aiohttp import web
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        body = await request.read()
        at = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = Webhook(SECRET).verify(body, headers)
        except (WebhookVerificationError, ValueError):
            with self.lock:
                self.rejected += 1
            return web.Response(status=400)
        data = payload.get("data") or {}
        events = data.get("events") or [data]
        with self.lock:
            self.messages += 1
            self.grouped += payload.get("type") == "alert.group"
            for event in events:
                seen = self.arrivals[(index, event.get("event_id", ""))]
                seen.setdefault(headers.get("webhook-id", ""), at)
        return web.Response(status=204)

    def start(self) -> None:
        from aiohttp import web

        async def serve() -> None:
            for index, port in enumerate(self.ports):
                app = web.Application()
                app.router.add_post("/{tail:.*}", lambda r, i=index: self._handle(i, r))
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
                self.runners.append(runner)

        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(timeout=10)

    def stop(self) -> None:
        for runner in self.runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def received(self) -> int:
        with self.lock:
            return sum(1 for seen in self.arrivals.values() if seen)


def setup_django() -> None:
    import logging

    import django

    django.setup()
    from django.core.management import call_command

    # One line per recorded event is the worker's log, not this report's.
    logging.getLogger("statuspage").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)


def reset_and_create(services: int, ports: list[int]) -> list[int]:
    """Replace the benchmark's team with N services (one check each) and M channels."""
    from checks.models import Check, Kind
    from checks.scheduling import as_datetime
    from statuspage.alerts.models import Channel
    from statuspage.catalog.models import Service, Team

    Check.objects.filter(service__team__slug=TEAM).delete()
    Service.objects.filter(team__slug=TEAM).delete()
    Channel.objects.filter(team__slug=TEAM).delete()
    team, _ = Team.objects.get_or_create(slug=TEAM, defaults={"name": "Benchmark (notify)"})
    rows = Service.objects.bulk_create(
        Service(slug=f"{TEAM}-{i:05d}", name=f"Bench service {i:05d}", team=team)
        for i in range(services)
    )
    parked = as_datetime(4_000_000_000)  # never due: only the benchmark writes results
    checks = Check.objects.bulk_create(
        (
            Check(
                service=service,
                name="health",
                kind=Kind.HTTP,
                config={"url": "http://127.0.0.1:9/health"},
                interval_s=60,
                timeout_s=5,
                failures_before_down=1,
                successes_before_up=1,
                # Up from the start: a first "unknown -> up" would count towards flapping.
                state="up",
                next_due_at=parked,
            )
            for service in rows
        ),
        batch_size=2000,
    )
    for index, port in enumerate(ports):
        Channel.objects.create(
            team=team,
            name=f"bench-hook-{index}",
            kind="webhook",
            target=f"http://127.0.0.1:{port}/hook/{index}",
            signing_secret=SECRET,
        )
    return [c.pk for c in checks]


def flip(check_ids: list[int], *, outcome: int, slot: int) -> dict[str, float]:
    """Write one result per check in probe-sized batches; the event key of each
    transition -> the time its batch committed."""
    from checks.services import Observation, results_record

    to_state = "up" if outcome == 1 else "down"
    committed: dict[str, float] = {}
    for begin in range(0, len(check_ids), BATCH):
        chunk = check_ids[begin : begin + BATCH]
        now = time.time()
        observations = [
            Observation(check_id=pk, slot=slot, checked_at=now, outcome=outcome, detail="bench")
            for pk in chunk
        ]
        results_record(observations=observations)
        done = time.time()  # results_record commits before it returns
        committed.update({f"transition:{pk}:{slot}:{to_state}": done for pk in chunk})
    return committed


def wait_delivered(receivers: Receivers, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        got = receivers.received()
        if got >= expected:
            return
        if got != last:
            last, still_since = got, time.monotonic()
        elif time.monotonic() - still_since > 30:
            return  # nothing new for a while: the rest is lost, not late
        time.sleep(0.2)


def figures(receivers: Receivers, committed: dict[str, float], channels: int) -> dict:
    latencies: list[float] = []
    delivered = duplicates = 0
    with receivers.lock:
        for (_, key), seen in receivers.arrivals.items():
            if key not in committed or not seen:
                continue
            delivered += 1
            duplicates += len(seen) - 1
            latencies.append(min(seen.values()) - committed[key])
        grouped = receivers.grouped
    expected = len(committed) * channels
    return {
        "transitions": len(committed),
        "expected": expected,
        "delivered": delivered,
        "duplicates": duplicates,
        "lost": expected - delivered,
        "grouped_messages": grouped,
        "p50_s": round(quantile(latencies, 0.50), 3),
        "p99_s": round(quantile(latencies, 0.99), 3),
    }


def run(args: argparse.Namespace) -> dict:
    env = bench_environment()
    ensure_database(env["DATABASE_URL"])
    setup_django()
    from django.conf import settings

    work = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    receivers = Receivers(args.channels)
    receivers.start()
    check_ids = reset_and_create(args.services, receivers.ports)
    from statuspage.celery import app

    app.control.purge()
    slot = int(time.time())
    celery = ["-m", "celery", "-A", "statuspage"]
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", str(args.concurrency),
               "--without-gossip", "--without-mingle", "-n", f"bench-notify-{slot}@%h"),
        env, work / "worker.log",
    )  # fmt: skip
    beat = start(python(*celery, "beat", "-l", "INFO"), env, work / "beat.log")
    committed: dict[str, float] = {}
    try:
        wait_for_log(work / "worker.log", "ready.", timeout=120)
        print(f"grouping window: {settings.ALERTS_GROUP_WINDOW_S}s", flush=True)
        for step, outcome in ((1, 3), (2, 1)):  # down, then up
            started = time.time()
            committed.update(flip(check_ids, outcome=outcome, slot=slot + 60 * step))
            print(f"  {'down' if outcome == 3 else 'up'}: {len(check_ids)} transitions "
                  f"written in {time.time() - started:.1f}s", flush=True)  # fmt: skip
            wait_delivered(receivers, len(committed) * args.channels, timeout=args.timeout)
            print(f"  received {receivers.received()} of {len(committed) * args.channels}",
                  flush=True)  # fmt: skip
    finally:
        for process in (beat, worker):
            stop(process)
        receivers.stop()
    print(f"messages={receivers.messages} rejected={receivers.rejected} logs: {work}")
    return figures(receivers, committed, args.channels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait per flip")
    args = parser.parse_args()
    if args.services < 1 or args.channels < 1:
        parser.error("--services and --channels must be positive")
    result = run(args)
    print(" ".join(f"{key}={value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
