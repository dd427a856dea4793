import os
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from checks.demo import demo_checks_seed
from statuspage.catalog.demo import DEMO_SERVICES, demo_catalog_seed
from statuspage.demo.history import demo_history_seed


def default_port() -> int:
    raw = os.environ.get("PORT") or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65535:
        raise CommandError(f"PORT={raw!r} is not a port number")
    return int(raw)


class Command(BaseCommand):
    help = (
        "Create the demo installation: teams, services, owner notes, checks of this app and "
        "of the demo target (PORT + 1), 90 days of history, a deployment and a resolved "
        "incident. Safe to run again: it only adds what is missing and points the demo "
        "checks at PORT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--services",
            type=int,
            default=len(DEMO_SERVICES),
            help=f"How many services the demo catalog holds (default {len(DEMO_SERVICES)}).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="Port this app answers on (default: PORT, else 8000); the demo target "
            "listens on the next one.",
        )

    def handle(self, *args, services: int, port: int | None, **options) -> None:
        if services < 1:
            raise CommandError("--services must be at least 1")
        port = default_port() if port is None else port
        if not 0 < port < 65535:
            raise CommandError(f"--port {port} is not a port number")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if total > 1000:
                self.stdout.write(f"  services {done}/{total}")

        teams, created = demo_catalog_seed(services=services, progress=progress)
        checks, repointed = demo_checks_seed(services=services, port=port)
        history = demo_history_seed(checks=checks)
        took = time.monotonic() - started
        if not (teams or created or checks or repointed):
            self.stdout.write(f"Demo catalog already present ({services} services): no changes.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog: {teams} teams, {created} services and {len(checks)} checks "
                f"created ({history} with 90 days of history), {repointed} checks pointed at "
                f"port {port}, in {took:.1f}s."
            )
        )
