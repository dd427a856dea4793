"""``manage.py sync_catalog``: the ``checks:`` section of each service."""

import time
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from checks.kinds import KINDS
from checks.models import Check, Kind
from checks.sync import ChecksSection, setting_schema
from statuspage.catalog.models import OwnerNote, Service, Team
from statuspage.catalog.sync_sections import SERVICE_SECTIONS
from tests.checks.factories import make_check
from tests.checks.worlds import sync, write
from tests.factories import make_service, make_team

pytestmark = pytest.mark.django_db

NOW = "2026-03-02 09:00:00Z"

CATALOG = """\
teams:
  - name: Payments
    slug: payments
services:
  - name: Checkout API
    slug: checkout-api
    team: payments
    checks:
      - name: health
        kind: http
        url: https://checkout.example.com/health
        conditions: ["ok == true"]
        interval: 30
        timeout: 5
        degraded_ms: 300
      - name: database
        kind: tcp
        host: db.payments.internal.example
        port: 5432
  - name: Nightly invoices
    slug: invoice-nightly
    team: payments
    checks:
      - name: nightly run
        kind: heartbeat
        cron: "0 2 * * *"
        grace: 1800
"""


NIGHTLY_CHECKS = """\
    checks:
      - name: nightly run
        kind: heartbeat
        cron: "0 2 * * *"
        grace: 1800
"""


def sync_fails(path: Path) -> str:
    stdout = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("sync_catalog", str(path), stdout=stdout, stderr=StringIO())
    assert stdout.getvalue() == ""
    return str(raised.value)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Team, Service, OwnerNote, Check)}


def definition(check: Check) -> dict:
    return {
        "kind": check.kind,
        "config": check.config,
        "interval_s": check.interval_s,
        "timeout_s": check.timeout_s,
        "degraded_ms": check.degraded_ms,
        "failures_before_down": check.failures_before_down,
        "successes_before_up": check.successes_before_up,
        "is_enabled": check.is_enabled,
        "is_paused": check.is_paused,
        "grace_s": check.grace_s,
        "cron": check.cron,
    }


def test_the_checks_section_is_registered_by_the_checks_app():
    assert isinstance(SERVICE_SECTIONS["checks"], ChecksSection)


def test_every_setting_of_every_kind_can_be_written_in_the_file():
    schema = setting_schema()
    for kind in KINDS.values():
        for setting in kind.settings:
            assert schema[setting.written].attr == setting.key, (kind.name, setting.key)
    assert schema["domain"].attr == "name"  # "name" names the check itself


@time_machine.travel(NOW, tick=False)
def test_first_import_creates_the_checks_of_each_service(tmp_path):
    path = write(tmp_path, CATALOG)

    output = sync(path)

    assert output == (
        f"Synced {path}: teams 1 created, 0 updated, 0 unchanged; "
        "services 2 created, 0 updated, 0 unchanged; owner notes 0 updated; "
        "checks 3 created, 0 updated, 0 unchanged\n"
    )
    health = Check.objects.get(service__slug="checkout-api", name="health")
    assert definition(health) == {
        "kind": Kind.HTTP,
        "config": {"url": "https://checkout.example.com/health", "conditions": ["ok == true"]},
        "interval_s": 30,
        "timeout_s": 5.0,
        "degraded_ms": 300,
        "failures_before_down": 2,
        "successes_before_up": 1,
        "is_enabled": True,
        "is_paused": False,
        "grace_s": 300,
        "cron": "",
    }
    database = Check.objects.get(service__slug="checkout-api", name="database")
    assert (database.kind, database.config, database.interval_s) == (
        Kind.TCP,
        {"host": "db.payments.internal.example", "port": 5432},
        60,
    )
    nightly = Check.objects.get(service__slug="invoice-nightly")
    assert (nightly.kind, nightly.cron, nightly.grace_s) == (Kind.HEARTBEAT, "0 2 * * *", 1800)
    # Probed checks are put on their slot grid; heartbeats wait for pings instead.
    assert health.next_due_at is not None
    assert health.next_due_at.timestamp() - time.time() <= 30
    assert nightly.next_due_at is None


def test_second_run_changes_nothing_and_says_so(tmp_path):
    path = write(tmp_path, CATALOG)
    sync(path)
    before = {check.pk: (definition(check), check.updated_at) for check in Check.objects.all()}

    output = sync(path)

    assert output == f"No changes: 1 team, 2 services, 3 checks already match {path}\n"
    after = {check.pk: (definition(check), check.updated_at) for check in Check.objects.all()}
    assert after == before


def test_dry_run_lists_check_creates_and_updates_with_their_fields_and_writes_nothing(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments", name="Payments"))
    make_check(
        checkout,
        "health",
        config={"url": "https://checkout.example.com/healthz", "conditions": ["ok == true"]},
        interval_s=60,
        timeout_s=5,
        degraded_ms=300,
    )
    path = write(tmp_path, CATALOG)
    before = row_counts()

    output = sync(path, "--dry-run")

    assert output.splitlines() == [
        "  update service checkout-api: name 'Checkout Api' -> 'Checkout API'",
        "  create service invoice-nightly: name, team",
        "  update check checkout-api/health: interval 60 -> 30; "
        "url 'https://checkout.example.com/healthz' -> 'https://checkout.example.com/health'",
        "  create check checkout-api/database: kind, host, port",
        "  create check invoice-nightly/nightly run: kind, grace, cron",
        f"Dry run of {path}, nothing written: teams 0 to create, 0 to update, 1 unchanged; "
        "services 1 to create, 1 to update, 0 unchanged; owner notes 0 to update; "
        "checks 2 to create, 1 to update, 0 unchanged",
    ]
    assert row_counts() == before
    assert Check.objects.get().interval_s == 60


def test_an_update_changes_only_the_field_that_differs(tmp_path):
    path = write(tmp_path, CATALOG)
    sync(path)
    database = Check.objects.get(name="database")
    before = definition(database)
    write(tmp_path, CATALOG.replace("port: 5432", "port: 6432"))

    output = sync(path)

    assert output == (
        f"Synced {path}: teams 0 created, 0 updated, 1 unchanged; "
        "services 0 created, 0 updated, 2 unchanged; owner notes 0 updated; "
        "checks 0 created, 1 updated, 2 unchanged\n"
    )
    database.refresh_from_db()
    assert definition(database) == {
        **before,
        "config": {"host": "db.payments.internal.example", "port": 6432},
    }


def test_a_shorter_interval_moves_the_check_to_its_new_slot_grid(tmp_path):
    path = write(tmp_path, CATALOG)
    with time_machine.travel(NOW, tick=False):
        sync(path)
    database = Check.objects.get(name="database")
    write(tmp_path, CATALOG.replace("port: 5432", "port: 5432\n        interval: 15"))

    with time_machine.travel(NOW, tick=False):
        sync(path)

    database.refresh_from_db()
    assert database.interval_s == 15
    assert database.next_due_at.timestamp() - time.time() <= 15


def test_keys_left_out_keep_their_values_and_an_empty_setting_is_removed(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments"))
    make_check(
        checkout,
        "health",
        config={
            "url": "https://checkout.example.com/health",
            "method": "HEAD",
            "headers": {"X-Probe": "status"},
        },
        interval_s=120,
        failures_before_down=3,
        is_paused=True,
    )
    path = write(
        tmp_path,
        """\
        services:
          - name: Checkout API
            slug: checkout-api
            team: payments
            checks:
              - name: health
                kind: http
                method:
                conditions: ["ok == true"]
        """,
    )

    sync(path)

    check = Check.objects.get()
    assert check.config == {
        "url": "https://checkout.example.com/health",
        "headers": {"X-Probe": "status"},
        "conditions": ["ok == true"],
    }
    assert (check.interval_s, check.failures_before_down, check.is_paused) == (120, 3, True)


def test_the_plan_never_prints_header_values(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments"), name="Checkout API")
    make_check(
        checkout,
        "health",
        config={"url": "https://checkout.example.com/", "headers": {"Authorization": "old"}},
    )
    path = write(
        tmp_path,
        """\
        services:
          - name: Checkout API
            slug: checkout-api
            team: payments
            checks:
              - name: health
                kind: http
                headers:
                  Authorization: Bearer s3cret-token
        """,
    )

    output = sync(path, "--dry-run")

    assert output.splitlines()[0] == (
        "  update check checkout-api/health: "
        "headers {'Authorization': '********'} -> {'Authorization': '********'}"
    )
    assert "s3cret" not in output


def test_a_new_kind_drops_the_settings_the_old_kind_had(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments"), name="Checkout API")
    make_check(checkout, "edge", config={"url": "https://checkout.example.com/", "method": "GET"})
    path = write(
        tmp_path,
        """\
        services:
          - name: Checkout API
            slug: checkout-api
            team: payments
            checks:
              - name: edge
                kind: tls
                host: checkout.example.com
        """,
    )

    assert sync(path, "--dry-run").splitlines()[0] == (
        "  update check checkout-api/edge: kind 'http' -> 'tls'; "
        "url 'https://checkout.example.com/' -> None; method 'GET' -> None; "
        "host None -> 'checkout.example.com'"
    )
    sync(path)

    check = Check.objects.get()
    assert (check.kind, check.config) == (Kind.TLS, {"host": "checkout.example.com"})


def test_checks_the_file_does_not_name_are_left_alone_and_counted(tmp_path):
    path = write(tmp_path, CATALOG)
    sync(path)
    checkout = Service.objects.get(slug="checkout-api")
    legacy = make_check(checkout, "legacy", interval_s=300)
    make_check(make_service("billing", team=Team.objects.get()), "health")

    output = sync(path)

    assert output == (
        f"No changes: 1 team, 2 services, 3 checks already match {path}; "
        "1 other service and 2 other checks not in the file left alone\n"
    )
    assert Check.objects.get(pk=legacy.pk).interval_s == 300


def test_a_value_the_file_leaves_out_is_validated_with_the_file_s_values(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments"))
    make_check(checkout, "health", interval_s=120, timeout_s=30)
    path = write(
        tmp_path,
        """\
        services:
          - name: Checkout API
            slug: checkout-api
            team: payments
            checks:
              - name: health
                kind: http
                url: https://checkout.example.com/health
                interval: 20
        """,
    )
    before = row_counts()

    message = sync_fails(path)

    assert message == (
        f"{path}:6: services[0].checks[0].timeout: the timeout must be shorter than the interval\n"
        f"1 problem in {path}; nothing written"
    )
    assert row_counts() == before
    assert Check.objects.get().interval_s == 120


BAD_INPUTS = {
    "interval too short": (
        "port: 5432",
        "port: 5432\n        interval: 5\n        timeout: 3",
        "20: services[0].checks[1].interval: the interval must be at least 10 seconds",
    ),
    "bad condition": (
        '["ok == true"]',
        '["ok = true"]',
        "12: services[0].checks[0].conditions[0]: unexpected '=' (use '==' to compare) at column 4",
    ),
    "bad URL": (
        "https://checkout.example.com/health",
        "ftp://checkout.example.com/health",
        "11: services[0].checks[0].url: URL must be http:// or https:// with a host:"
        " 'ftp://checkout.example.com/health'",
    ),
    "unknown kind": (
        "kind: tcp",
        "kind: smtp",
        "17: services[0].checks[1].kind: unknown kind 'smtp': use one of http, tcp, tls, dns,"
        " heartbeat",
    ),
    "duplicate name": (
        "name: database",
        "name: health",
        "16: services[0].checks[1].name: 'health' is already used by services[0].checks[0]"
        " (line 9)",
    ),
    "unknown key": (
        "interval: 30",
        "intervall: 30",
        "13: services[0].checks[0].intervall: unknown field; did you mean 'interval'?",
    ),
    "setting of another kind": (
        "port: 5432",
        "port: 5432\n        url: https://db.example.com/",
        "20: services[0].checks[1].url: not a setting of tcp checks; they take host, port",
    ),
    "required setting missing": (
        "        port: 5432\n",
        "",
        "16: services[0].checks[1].port: required field is missing",
    ),
    "wrong type": (
        "port: 5432",
        "port: five",
        "19: services[0].checks[1].port: expected a whole number, got the text 'five'",
    ),
    "timeout too long": (
        "timeout: 5",
        "timeout: 90",
        "14: services[0].checks[0].timeout: the timeout must be between 0 and 60 seconds",
    ),
    "bad cron": (
        '"0 2 * * *"',
        '"0 2 * *"',
        "26: services[1].checks[0].cron: '0 2 * *' must have five fields: minute hour day"
        " month weekday",
    ),
    "refused target": (
        "db.payments.internal.example",
        "169.254.169.254",
        "18: services[0].checks[1].host: target refused: 169.254.169.254 is a cloud metadata"
        " address",
    ),
    "kind missing": (
        "        kind: heartbeat\n",
        "",
        "24: services[1].checks[0].kind: required field is missing",
    ),
    "certificate days": (
        "kind: tcp\n        host: db.payments.internal.example\n        port: 5432",
        "kind: tls\n        host: db.payments.internal.example\n        warn_days: 3\n"
        "        critical_days: 7",
        "20: services[0].checks[1].critical_days: critical_days must be between 0 and warn_days",
    ),
    "DNS record type": (
        "kind: tcp\n        host: db.payments.internal.example\n        port: 5432",
        "kind: dns\n        domain: db.payments.internal.example\n        record_type: SRV",
        "19: services[0].checks[1].record_type: record type must be one of A, AAAA, CNAME, MX, TXT",
    ),
    "DNS check without a domain": (
        "kind: tcp\n        host: db.payments.internal.example\n        port: 5432",
        "kind: dns\n        record_type: A",
        "16: services[0].checks[1].domain: required field is missing",
    ),
    "expected status out of range": (
        '["ok == true"]',
        '["ok == true"]\n        expected_statuses: [200, 700]',
        "13: services[0].checks[0].expected_statuses: expected statuses must be between 100 and"
        " 599: (200, 700)",
    ),
    "heartbeat with a URL": (
        "grace: 1800",
        "grace: 1800\n        url: https://invoices.example.com/",
        "28: services[1].checks[0].url: not a setting of heartbeat checks; they take none",
    ),
    "degraded threshold": (
        "degraded_ms: 300",
        "degraded_ms: 0",
        "15: services[0].checks[0].degraded_ms: the degraded threshold must be a positive number"
        " of ms",
    ),
    "count out of range": (
        "port: 5432",
        "port: 5432\n        failures_before_down: 40000",
        "20: services[0].checks[1].failures_before_down: 40000 is not between 0 and 32767",
    ),
    "checks not a list": (
        NIGHTLY_CHECKS,
        "    checks: nightly run\n",
        "23: services[1].checks: expected a list, got the text 'nightly run'",
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_named_by_file_line_and_field_and_nothing_is_written(
    tmp_path, old, new, expected
):
    assert old in CATALOG
    path = write(tmp_path, CATALOG.replace(old, new, 1))
    before = row_counts()

    message = sync_fails(path)

    assert message == f"{path}:{expected}\n1 problem in {path}; nothing written"
    assert row_counts() == before
