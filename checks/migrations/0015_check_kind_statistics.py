from django.db import migrations

# PostgreSQL: the frequent sweeps filter checks by kind, enabled and paused together, and
# the planner takes those columns as independent. A table of many enabled HTTP checks and
# some disabled heartbeat checks then looks like thousands of active heartbeat checks, and
# the heartbeat sweep (every second) walked the whole table through check_unique_name
# instead of the empty check_heartbeat_late index. The columns' combined frequencies (an
# MCV list, gathered by ANALYZE) give the planner the real count.
FORWARD = """
CREATE STATISTICS IF NOT EXISTS check_kind_enabled_paused (mcv)
    ON kind, is_enabled, is_paused FROM checks_check;
ANALYZE checks_check;
"""
BACKWARD = "DROP STATISTICS IF EXISTS check_kind_enabled_paused;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("checks", "0014_check_service_index"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
