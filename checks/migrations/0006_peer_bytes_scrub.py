"""Remove what peers sent from stored failure details.

Probes used to quote the peer's bytes (a service banner, a header, a JSON value) in their
failure details, and those details were copied into the check, its results and its
transitions. They are rewritten to the generic wording probes use now. Rows are read in
batches by primary key, so a long history does not have to fit in memory.
"""

import re

from django.db import migrations
from django.db.models import Q

INVALID_RESPONSE = "invalid HTTP response: the server did not answer in HTTP"
BATCH = 2000

_RULES = (
    # The lookahead keeps the wording probes use now.
    (re.compile(r"invalid HTTP response: (?!the ).*\Z", re.S), INVALID_RESPONSE),
    (re.compile(r"request failed: .*\Z", re.S), "request failed"),
    (re.compile(r"invalid URL: .*\Z", re.S), "invalid URL"),
    (re.compile(r"(condition failed: .*?) \(got .*\)\Z", re.S), r"\1"),
    (
        re.compile(
            r"(condition failed: .*len\((.+?)\).*) \(\2 is .*, which has no length\)\Z", re.S
        ),
        r"\1 (\2 has no length)",
    ),
)
_MARKERS = ("invalid HTTP response: ", "request failed: ", "invalid URL: ", "condition failed: ")


def scrub(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _scrub_model(model, field: str) -> None:
    matching = Q()
    for marker in _MARKERS:
        matching |= Q(**{f"{field}__contains": marker})
    last_pk = None
    while True:
        after = model.objects.filter(pk__gt=last_pk) if last_pk is not None else model.objects
        rows = list(after.filter(matching).order_by("pk").values_list("pk", field)[:BATCH])
        if not rows:
            return
        last_pk = rows[-1][0]
        for pk, text in rows:
            cleaned = scrub(text)
            if cleaned != text:
                model.objects.filter(pk=pk).update(**{field: cleaned})


def scrub_forward(apps, schema_editor) -> None:
    _scrub_model(apps.get_model("checks", "Result"), "detail")
    _scrub_model(apps.get_model("checks", "Check"), "last_detail")
    _scrub_model(apps.get_model("checks", "Transition"), "reason")


class Migration(migrations.Migration):
    dependencies = [("checks", "0005_engine_skipped_slots")]

    operations = [migrations.RunPython(scrub_forward, migrations.RunPython.noop, elidable=True)]
