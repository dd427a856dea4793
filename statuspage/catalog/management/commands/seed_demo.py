import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from statuspage.catalog.demo import DEMO_SERVICES, demo_catalog_seed


class Command(BaseCommand):
    help = "Create a demo catalog (teams, services, owner notes). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--services",
            type=int,
            default=len(DEMO_SERVICES),
            help=f"How many services the demo catalog holds (default {len(DEMO_SERVICES)}).",
        )

    def handle(self, *args, services: int, **options) -> None:
        if services < 1:
            raise CommandError("--services must be at least 1")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if total > 1000:
                self.stdout.write(f"  services {done}/{total}")

        teams, created = demo_catalog_seed(services=services, progress=progress)
        took = time.monotonic() - started
        if not teams and not created:
            self.stdout.write(f"Demo catalog already present ({services} services): no changes.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog: {teams} teams and {created} services created in {took:.1f}s."
            )
        )
