"""``manage.py rollups_rebuild_days``: daily rollups on the current day boundary."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from checks.rollups import rollups_days_rebuild
from statuspage.core.days import day_zone


class Command(BaseCommand):
    help = (
        "Rebuild the daily rollups from the hourly ones still kept, on the days of "
        "STATUS_PAGE_TIME_ZONE. Run it after changing that setting; safe to repeat."
    )

    def handle(self, *args, **options) -> None:
        rebuilt = rollups_days_rebuild(now=timezone.now())
        self.stdout.write(f"Rebuilt the daily rollups of {rebuilt} days ({day_zone()}).")
