import django.db.models.deletion
from django.db import migrations, models

# A check's newest state event is the first entry of (check, time) that matches, however
# long its history; the check's own index goes, as the new one leads with it. Only the index
# is dropped: altering the field would drop and re-add the foreign key, which checks every
# row of the table again (and rebuilds the table on SQLite).
CHECK_INDEX = "alerts_event_check_id_b2b8e150"


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_notification_recent_index"),
        ("checks", "0015_check_kind_statistics"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                fields=["check_ref", "-occurred_at", "-id"], name="alert_event_check_time"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="check_ref",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="check_id",
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="checks.check",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{CHECK_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{CHECK_INDEX}" ON "alerts_event" ("check_id")',
                ),
            ],
        ),
    ]
