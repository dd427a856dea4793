from django.db import migrations, models

# PostgreSQL: an inbox row takes its id from the pings' own sequence, so the drain moves
# it to checks_ping under the same id (ping ids keep the order pings came in). Every row
# is deleted about a second after it came: autovacuum visits the table after each 1,000
# dead rows instead of a fraction of its size. Pings stored and not yet applied move to
# the inbox before the pending flag goes.
FORWARD = """
ALTER TABLE checks_pinginbox SET (autovacuum_vacuum_scale_factor = 0,
                                  autovacuum_vacuum_threshold = 1000);
DO $$ BEGIN
  EXECUTE format('ALTER TABLE checks_pinginbox ALTER COLUMN id SET DEFAULT nextval(%L)',
                 pg_get_serial_sequence('checks_ping', 'id'));
END $$;
INSERT INTO checks_pinginbox (id, check_id, kind, exit_status, received_at, rid, method,
                              remote_addr, user_agent, body)
SELECT id, check_id, kind, exit_status, received_at, rid, method, remote_addr, user_agent, body
FROM checks_ping WHERE pending;
DELETE FROM checks_ping WHERE pending;
"""
BACKWARD = """
INSERT INTO checks_ping (id, check_id, kind, exit_status, received_at, rid, method,
                         remote_addr, user_agent, body, pending)
SELECT i.id, i.check_id, i.kind, i.exit_status, i.received_at, i.rid, i.method,
       i.remote_addr, i.user_agent, i.body, TRUE
FROM checks_pinginbox AS i JOIN checks_check AS c ON c.id = i.check_id;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("checks", "0012_result_partitions"),
    ]

    operations = [
        migrations.CreateModel(
            name="PingInbox",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("check_id", models.BigIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("success", "Success"),
                            ("start", "Start"),
                            ("fail", "Fail"),
                            ("exit", "Exit status"),
                        ],
                        max_length=10,
                    ),
                ),
                ("exit_status", models.PositiveSmallIntegerField(null=True)),
                ("received_at", models.DateTimeField()),
                ("rid", models.CharField(blank=True, max_length=64)),
                ("method", models.CharField(max_length=8)),
                ("remote_addr", models.GenericIPAddressField(null=True)),
                ("user_agent", models.CharField(blank=True, max_length=200)),
                ("body", models.TextField(blank=True)),
            ],
            options={"db_table": "checks_pinginbox"},
        ),
        migrations.RunPython(forward, backward, elidable=False),
        migrations.RemoveIndex(model_name="ping", name="ping_pending"),
        migrations.RemoveField(model_name="ping", name="pending"),
    ]
