"""Check settings' secret values (headers, URL passwords) are encrypted at rest."""

from django.db import migrations, models

import checks.sealing


def seal_existing(apps, schema_editor):
    # The historical field is already the sealing one here: reading opens nothing (the
    # values are plain), writing seals the secret values.
    Check = apps.get_model("checks", "Check")
    for pk, config in Check.objects.values_list("pk", "config").iterator(chunk_size=500):
        if isinstance(config, dict) and config:
            Check.objects.filter(pk=pk).update(config=config)


def open_existing(apps, schema_editor):
    Check = apps.get_model("checks", "Check")
    for pk, config in Check.objects.values_list("pk", "config").iterator(chunk_size=500):
        if isinstance(config, dict) and config:
            plain = models.Value(config, output_field=models.JSONField())
            Check.objects.filter(pk=pk).update(config=plain)


class Migration(migrations.Migration):
    dependencies = [("checks", "0006_peer_bytes_scrub")]

    operations = [
        migrations.AlterField(
            model_name="check",
            name="config",
            field=checks.sealing.SealedJSONField(blank=True, default=dict),
        ),
        migrations.RunPython(seal_existing, open_existing),
    ]
