"""``manage.py check_secrets_reseal``: re-encrypt secret check settings with the first key.

Run after putting a new key first in ``CHECK_SECRET_KEYS``; once it reports nothing left
to reseal and nothing unreadable, the old keys can be removed. Safe to run again: a value
the first key already opens is left as it is.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from checks.models import Check
from checks.sealing import config_unseal, is_sealed, sealed_with_primary


def _sealed_values(value: Any) -> list[str]:
    if is_sealed(value):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _sealed_values(item)]
    if isinstance(value, list):
        return [text for item in value for text in _sealed_values(item)]
    return []


class Command(BaseCommand):
    help = "Re-encrypt every check's secret settings with the first of CHECK_SECRET_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        total = Check.objects.count()
        read = resealed = unreadable = 0
        last_pk = 0
        while True:
            # Row locks per batch: an admin saving a check meanwhile waits, so neither
            # write is lost.
            with transaction.atomic():
                rows = list(
                    Check.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .annotate(raw=Cast("config", TextField()))
                    .values_list("pk", "raw")[:batch_size]
                )
                for pk, raw in rows:
                    stored = json.loads(raw) if raw else {}
                    outcome = self._reseal(pk, stored)
                    resealed += outcome == "resealed"
                    unreadable += outcome == "unreadable"
            if not rows:
                break
            read += len(rows)
            last_pk = rows[-1][0]
            self.stdout.write(
                f"check_secrets_reseal: read {read}/{total} resealed {resealed} "
                f"unreadable {unreadable}"
            )
        self.stdout.write(f"resealed {resealed} of {read} checks, unreadable {unreadable}")
        if unreadable:
            self.stderr.write(
                f"{unreadable} check(s) hold values no key in CHECK_SECRET_KEYS opens: "
                "add the key they were sealed with, or enter their secrets again"
            )

    @staticmethod
    def _reseal(pk: int, stored: Any) -> str:
        sealed = _sealed_values(stored)
        if all(sealed_with_primary(text) for text in sealed):
            return "current"
        opened = config_unseal(stored)
        if _sealed_values(opened):
            return "unreadable"
        # Plain values again: saving seals them with the first key.
        Check.objects.filter(pk=pk).update(config=opened)
        return "resealed"
