import os
import time
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from checks.demo import demo_checks_seed
from statuspage.catalog.demo import DEMO_SERVICES, demo_catalog_seed


class Command(BaseCommand):
    help = "Create a demo catalog (teams, services, owner notes, checks). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--services",
            type=int,
            default=len(DEMO_SERVICES),
            help=f"How many services the demo catalog holds (default {len(DEMO_SERVICES)}).",
        )
        port = int(os.environ.get("PORT") or 8000)
        parser.add_argument(
            "--base-url",
            default=f"http://127.0.0.1:{port}",
            help="Where this app answers; demo checks watch its own endpoints.",
        )

    def handle(self, *args, services: int, base_url: str, **options) -> None:
        if services < 1:
            raise CommandError("--services must be at least 1")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if total > 1000:
                self.stdout.write(f"  services {done}/{total}")

        teams, created = demo_catalog_seed(services=services, progress=progress)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--base-url {base_url!r} must be an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        checks = demo_checks_seed(base_url=base_url, port=port)
        took = time.monotonic() - started
        if not (teams or created or checks):
            self.stdout.write(f"Demo catalog already present ({services} services): no changes.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog: {teams} teams, {created} services and {checks} checks "
                f"created in {took:.1f}s."
            )
        )
