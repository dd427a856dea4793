"""Pages in a real browser: the team page and the public page at N services, in Chromium.

    python bench/browser.py --services 5000 [--loads 3] [--workers 2] [--reuse]

Uses DATABASE_URL (default: its own `statuspage_bench_browser` PostgreSQL database) and
REDIS_URL (default: Redis database 8). Generates the `bench-pages` catalog of bench/pages.py
(one service in 25 down, one in 10 degraded, the rest up; hourly and daily rollups,
deployments with verdicts), with one service in five public, in ten component groups.
Then serves it with gunicorn and the production settings (--workers sync workers, Redis
cache, hashed static files collected into a temporary STATIC_ROOT) and drives Debian's
Chromium through Playwright:

1. the team page `/`, signed in: --loads page loads after a warm-up; the figure is the
   median time from navigation start to the load event (HTML parsed, styles and scripts
   run, the page drawn and usable), and the HTML's size;
2. one refresh of the list as the page's own poll sends it (its `hx-get` URL, with the
   `HX-Request` header), made after the load: the bytes it answers with;
3. the public page `/status/`, anonymous, the same way (its cache warmed by the warm-up).

The last line is key=value pairs:
services= team_load_ms= team_bytes= refresh_bytes= public_load_ms= public_bytes=
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_environment,
    ensure_database,
    free_port,
    start,
    stop,
    team_checks_enabled,
    wait_for_port,
)
from bench.pages import TEAM, VIEWER, catalog_create, catalog_delete, catalog_ready

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/statuspage_bench_browser"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
PUBLIC_EVERY = 5  # one service in five is public
GROUPS = 10
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TARGET_TEAM_MS = 1000
NAVIGATION_TIMEOUT_MS = 300_000  # a page of tens of MB takes Chromium most of a minute
NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {load: n.loadEventEnd - n.startTime, bytes: n.decodedBodySize,
          first_byte: n.responseStart - n.startTime};
}"""
REFRESH = """async () => {
  const region = document.querySelector("[hx-get]");
  if (!region) return -1;
  const response = await fetch(region.getAttribute("hx-get"), {headers: {"HX-Request": "true"}});
  return (await response.arrayBuffer()).byteLength;
}"""


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def catalog_publish() -> int:
    """Every fifth generated service public, in ten component groups."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_service SET is_public = (id %% %s = 0), "
            "component_group = 'Group ' || (id %% %s)::text, public_name = name "
            "WHERE team_id = (SELECT id FROM catalog_team WHERE slug = %s)",
            [PUBLIC_EVERY, GROUPS, TEAM],
        )
        cursor.execute("SELECT count(*) FROM catalog_service WHERE is_public")
        return cursor.fetchone()[0]


def session_cookie() -> str:
    """A signed-in session of the viewer, made in this process (the production session
    cookie is Secure, so a browser would not keep one set over plain HTTP)."""
    from django.conf import settings
    from django.test import Client

    from statuspage.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=VIEWER))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def load(page, url: str, loads: int) -> tuple[float, int]:
    """The median load time (ms) and the HTML size (bytes) over ``loads`` loads; the
    median time to the first byte of the HTML (the server's share) is printed."""
    times, first_bytes, size = [], [], 0
    page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page.goto(url)  # warm-up: caches filled, static files fetched once
    for _ in range(loads):
        page.goto(url, wait_until="load")
        figures = page.evaluate(NAVIGATION)
        times.append(figures["load"])
        first_bytes.append(figures["first_byte"])
        size = figures["bytes"]
    print(f"  {url}: first byte after {statistics.median(first_bytes):.0f} ms", flush=True)
    return statistics.median(times), size


def measure(args, base: str, cookie: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        team = browser.new_context()
        team.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = team.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        team_ms, team_bytes = load(page, f"{base}/", args.loads)
        rows = page.locator("table.services tbody tr").count()
        refresh_bytes = page.evaluate(REFRESH)
        print(
            f"  team page: {team_ms:.0f} ms, {team_bytes} bytes, {rows} rows drawn; "
            f"a refresh answers {refresh_bytes} bytes",
            flush=True,
        )
        public = browser.new_context().new_page()
        public_ms, public_bytes = load(public, f"{base}/status/", args.loads)
        browser.close()
    for error in errors:
        print(f"  console error: {error}")
    return {
        "team_load_ms": team_ms,
        "team_bytes": team_bytes,
        "refresh_bytes": refresh_bytes,
        "public_load_ms": public_ms,
        "public_bytes": public_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=3, help="timed loads per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--reuse", action="store_true", help="keep a current catalog")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    tmp = tempfile.mkdtemp(prefix="bench-browser-")
    os.environ.update(STATIC_ROOT=f"{tmp}/static", STATUS_SNAPSHOT_DIR=f"{tmp}/snapshots")
    env = bench_environment()
    env.pop("DEBUG", None)
    if not env["DATABASE_URL"].startswith(("postgres", "pgsql")):
        sys.exit("bench/browser.py generates its history with PostgreSQL: set a postgres:// URL")
    ensure_database(env["DATABASE_URL"])
    server = None
    shown = ExitStack()
    try:
        setup_django()
        now = datetime.now(UTC)
        began = time.perf_counter()
        if args.reuse and catalog_ready(services=args.services, now=now):
            print(f"reusing the {args.services} generated services of team {TEAM}")
        else:
            catalog_delete()
            catalog_create(services=args.services, now=now)
            print(f"generated {args.services} services in {time.perf_counter() - began:.1f}s")
        shown.enter_context(team_checks_enabled(TEAM))
        public = catalog_publish()
        print(f"{public} public services")
        cookie = session_cookie()
        port = free_port()
        senv = {**env, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
        gunicorn = [
            sys.executable, "-m", "gunicorn", "statuspage.wsgi", "-w", str(args.workers),
            "-b", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
        server = start(gunicorn, senv, Path(tmp) / "gunicorn.log")
        wait_for_port(port)
        figures = measure(args, f"http://127.0.0.1:{port}", cookie)
    finally:
        if server is not None:
            stop(server)
        shown.close()
        shutil.rmtree(tmp, ignore_errors=True)
    state = "PASS" if figures["team_load_ms"] < TARGET_TEAM_MS else "FAIL"
    print(f"  {state}: team page loads in {figures['team_load_ms']:.0f} ms (goal under 1 s)")
    print(
        f"services={args.services} team_load_ms={figures['team_load_ms']:.0f} "
        f"team_bytes={figures['team_bytes']} refresh_bytes={figures['refresh_bytes']} "
        f"public_load_ms={figures['public_load_ms']:.0f} public_bytes={figures['public_bytes']}"
    )


if __name__ == "__main__":
    main()
