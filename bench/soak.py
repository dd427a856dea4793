"""Soak: the production shape under steady mixed load for a while, then what it cost.

    python bench/soak.py --seconds 600 [--checks-per-min 10000] [--rps 5]

Uses DATABASE_URL / REDIS_URL (default: the `statuspage_bench` PostgreSQL database and
Redis database 9). Creates a `bench-soak` team with HTTP checks enough for --checks-per-min
(at a 60 s interval, against a local target), heartbeat checks for pings and a viewer, starts
gunicorn, a Celery worker and beat, and sends a steady mix of requests for --seconds: the
team page, the public page, API v1 and v2 reads, and heartbeat pings. Then it counts the
pings the database stored and compares the processes' memory from the start and the end
of the window. The last line is key=value pairs:

    requests= errors= pings_ok= pings_stored= rss_start_mb= rss_end_mb= ...
"""

import argparse
import asyncio
import itertools
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    ROOT,
    bench_environment,
    ensure_database,
    free_port,
    python,
    start,
    stop,
    tree_rss_mb,
    wait_for_log,
    wait_for_port,
)

TEAM = "bench-soak"
VIEWER = "bench-soak-viewer"
INTERVAL_S = 60
HEARTBEATS = 20
WARMUP_S = 20
# Share of each kind of request in the mix. Pings stay under the per-address limit.
MIX = {"team": 2, "public": 4, "api_v1": 3, "api_v2": 3, "ping": 1}


def setup_catalog(checks: int, target_port: int) -> dict:
    """Replace the soak team's catalog; return what the load needs (ids, token, cookie)."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.core.management import call_command

    from checks.models import Check, Kind
    from checks.scheduling import check_schedule_reset
    from statuspage.api.models import Scope
    from statuspage.api.services import api_token_create
    from statuspage.catalog.models import Service, Team

    call_command("migrate", verbosity=0)
    Check.objects.filter(service__team__slug=TEAM).delete()
    Service.objects.filter(team__slug=TEAM).delete()
    Team.objects.filter(slug=TEAM).delete()
    team = Team.objects.create(slug=TEAM, name="Soak")
    services = [
        Service.objects.create(slug=f"{TEAM}-{i}", name=f"Soak {i}", team=team, is_public=True)
        for i in range(20)
    ]
    probed = Check.objects.bulk_create(
        (
            Check(
                service=services[i % len(services)],
                name=f"soak-{i:05d}",
                kind=Kind.HTTP,
                config={"url": f"http://127.0.0.1:{target_port}/health/{i}"},
                interval_s=INTERVAL_S,
                timeout_s=5,
            )
            for i in range(checks)
        ),
        batch_size=2000,
    )
    for check in probed:
        check_schedule_reset(check=check)
    Check.objects.bulk_update(probed, ["next_due_at"], batch_size=2000)
    beats = Check.objects.bulk_create(
        Check(service=services[i], name=f"job-{i}", kind=Kind.HEARTBEAT, interval_s=60)
        for i in range(HEARTBEATS)
    )
    User = get_user_model()
    User.objects.filter(username=VIEWER).delete()
    viewer = User.objects.create_superuser(VIEWER, f"{VIEWER}@example.com", None)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(viewer.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = viewer.get_session_auth_hash()
    session.save()
    _, token = api_token_create(team=team, name="soak", scopes=[Scope.READ], created_by=viewer)
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "token": token,
        "service": services[0].slug,
        "pings": [str(c.ping_uuid) for c in beats],
        "ping_ids": [c.pk for c in beats],
    }


def pings_stored(check_ids: list[int], since: float) -> int:
    from datetime import UTC, datetime

    from checks.models import Ping

    moment = datetime.fromtimestamp(since, tz=UTC)
    return Ping.objects.filter(check_ref_id__in=check_ids, received_at__gte=moment).count()


async def load(base: str, catalog: dict, seconds: float, rps: float) -> Counter:
    """Send the request mix at a steady rate; count outcomes per kind."""
    import aiohttp

    counts: Counter = Counter()
    auth = {"Authorization": f"Bearer {catalog['token']}"}
    requests = {
        "team": ("/", {"Cookie": catalog["cookie"]}),
        "public": ("/status/", {}),
        "api_v1": (f"/api/v1/services/{catalog['service']}/checks", auth),
        "api_v2": ("/api/v2/summary.json", {}),
    }
    kinds = list(itertools.chain.from_iterable([k] * n for k, n in MIX.items()))
    pings = itertools.cycle(catalog["pings"])
    timeout = aiohttp.ClientTimeout(total=30)

    async def one(session: aiohttp.ClientSession, kind: str) -> None:
        path, headers = requests.get(kind) or (f"/ping/{next(pings)}", {})
        counts["requests"] += 1
        try:
            async with session.get(base + path, headers=headers, allow_redirects=False) as r:
                await r.read()
                ok = 200 <= r.status < 300
                if not ok:
                    counts[f"{kind}_{r.status}"] += 1
        except (aiohttp.ClientError, TimeoutError):
            ok = False
            counts[f"{kind}_failed"] += 1
        counts[f"{kind}_ok" if ok else f"{kind}_errors"] += 1
        if not ok:
            counts["errors"] += 1

    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = set()
        started = time.monotonic()
        for n, kind in enumerate(itertools.cycle(kinds)):
            due = started + n / rps
            if due - started >= seconds:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(one(session, kind))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return counts


def stack_rss(processes: list) -> float:
    return round(sum(tree_rss_mb(p.pid) for p in processes), 1)


def run(args: argparse.Namespace) -> dict[str, object]:
    env = bench_environment()
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("WHITENOISE_USE_FINDERS", "true")
    ensure_database(env["DATABASE_URL"])
    # Production static settings (hashed manifest): collect once into var/.
    env.setdefault("STATIC_ROOT", str(ROOT / "var" / "bench-static"))
    if not (Path(env["STATIC_ROOT"]) / "staticfiles.json").exists():
        subprocess.run(python("manage.py", "collectstatic", "--noinput", "-v0"), cwd=ROOT,
                       env=env, check=True)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    env["STATUSPAGE_VAR_DIR"] = str(work)
    target_port, web_port = free_port(), free_port()
    target = start(python("bench/target.py", str(target_port)), env, work / "target.log")
    checks = round(args.checks_per_min * INTERVAL_S / 60)
    catalog = setup_catalog(checks, target_port)
    from statuspage.celery import app

    app.control.purge()
    celery = ["-m", "celery", "-A", "statuspage"]
    worker = start(
        python(*celery, "worker", "-l", "INFO", "-c", "2", "--without-gossip",
               "--without-mingle", "-n", f"soak-{web_port}@%h"),
        env, work / "worker.log",
    )  # fmt: skip
    beat = start(python(*celery, "beat", "-l", "INFO"), env, work / "beat.log")
    web = start(
        python("-m", "gunicorn", "statuspage.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "2"),
        env, work / "web.log",
    )  # fmt: skip
    processes = [web, worker, beat]
    try:
        wait_for_port(target_port)
        wait_for_port(web_port, timeout=60)
        wait_for_log(work / "worker.log", "task=checks.probe_batch", timeout=120)
        base = f"http://127.0.0.1:{web_port}"
        # Warm-up: caches filled, every process has served its first requests.
        asyncio.run(load(base, catalog, WARMUP_S, args.rps))
        rss_start = stack_rss(processes)
        window_start = time.time()
        print(f"soak: {args.seconds}s at {args.rps} req/s, {checks} checks", flush=True)
        counts = asyncio.run(load(base, catalog, args.seconds, args.rps))
        window_end = time.time()
        rss_end = stack_rss(processes)
        time.sleep(2)
        stored = pings_stored(catalog["ping_ids"], window_start)
        probed = _results_between(window_start, window_end)
    finally:
        for process in (beat, web, worker, target):
            stop(process)
    print(f"logs: {work}")
    return {
        "requests": counts["requests"],
        "errors": counts["errors"],
        "pings_ok": counts["ping_ok"],
        "pings_stored": stored,
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "checks_per_min": round(probed / max(1.0, (window_end - window_start) / 60)),
        **{k: v for k, v in sorted(counts.items()) if not k.endswith("_ok") and "_" in k},
    }


def _results_between(start_t: float, end_t: float) -> int:
    from datetime import UTC, datetime

    from checks.models import Result

    return Result.objects.filter(
        check_ref__service__team__slug=TEAM,
        checked_at__gte=datetime.fromtimestamp(start_t, tz=UTC),
        checked_at__lt=datetime.fromtimestamp(end_t, tz=UTC),
    ).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--checks-per-min", type=int, default=10000)
    parser.add_argument("--rps", type=float, default=5.0)
    result = run(parser.parse_args())
    # Ping counts come first in the order the reports read them.
    keys = ["requests", "errors", "pings_ok", "pings_stored", "rss_start_mb", "rss_end_mb"]
    rest = [k for k in result if k not in keys]
    print(" ".join(f"{k}={result[k]}" for k in [*keys, *rest]))


if __name__ == "__main__":
    main()
