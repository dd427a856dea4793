"""Stored checks with a zero failure or success count get 1.

The state machine always read 0 as 1; the definition rules now refuse 0, so a check saved
with it before would fail validation on its next save.
"""

from django.db import migrations


def zero_counts_to_one(apps, schema_editor):
    Check = apps.get_model("checks", "Check")
    Check.objects.filter(failures_before_down=0).update(failures_before_down=1)
    Check.objects.filter(successes_before_up=0).update(successes_before_up=1)


class Migration(migrations.Migration):
    dependencies = [("checks", "0008_check_kind_choices_from_registry")]

    operations = [migrations.RunPython(zero_counts_to_one, migrations.RunPython.noop)]
