import django.db.models.deletion
from django.db import migrations, models


# The check's own index on service_id goes: check_unique_name (service_id, name) serves the
# same lookups, and every claim writes each index of the table (next_due_at is indexed).
class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("checks", "0013_ping_inbox"),
    ]

    operations = [
        migrations.AlterField(
            model_name="check",
            name="service",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="checks",
                to="catalog.service",
            ),
        ),
    ]
