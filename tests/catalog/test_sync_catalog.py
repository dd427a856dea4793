"""``manage.py sync_catalog``: the catalog imported from a YAML file."""

import textwrap
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from statuspage.catalog.models import OwnerNote, Service, Team, Tier
from statuspage.catalog.sync_schema import Field, Problem
from statuspage.catalog.sync_sections import (
    SERVICE_SECTIONS,
    Change,
    Section,
    SectionPlan,
    register_service_section,
)
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"

CATALOG = """\
teams:
  - name: Payments
    slug: payments
    contact_email: payments@example.com
    chat_channel: "#payments"
    members: [alice]
  - name: Search
    slug: search
services:
  - name: Checkout API
    slug: checkout-api
    team: payments
    tier: critical
    public: true
    owner_notes:
      expected_result: GET /health returns ok
      rollback_note: Redeploy the previous tag
      runbook: |
        ## Restart
        Run `make restart`.
      links:
        - title: Dashboard
          url: https://grafana.example.com/d/checkout
        - url: https://git.example.com/checkout
  - name: Search API
    slug: search-api
    team: search
    position: 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def sync(path: Path, *args: str) -> str:
    stdout, stderr = StringIO(), StringIO()
    call_command("sync_catalog", str(path), *args, stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    return stdout.getvalue()


def sync_fails(path: Path) -> str:
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("sync_catalog", str(path), stdout=stdout, stderr=stderr)
    assert stdout.getvalue() == ""
    return str(raised.value)


def row_counts() -> dict[str, int]:
    models = [Team, Service, OwnerNote, Team.members.through]
    models += [model.history.model for model in (Team, Service, OwnerNote)]
    return {model.__name__: model.objects.count() for model in models}


def test_first_import_creates_teams_services_and_owner_notes(tmp_path):
    alice = make_user("alice")
    path = write(tmp_path, CATALOG)

    output = sync(path)

    assert output == (
        f"Synced {path}: teams 2 created, 0 updated, 0 unchanged; "
        "services 2 created, 0 updated, 0 unchanged; owner notes 1 updated\n"
    )
    payments = Team.objects.get(slug="payments")
    assert (payments.name, payments.contact_email, payments.chat_channel) == (
        "Payments",
        "payments@example.com",
        "#payments",
    )
    assert list(payments.members.all()) == [alice]
    checkout = Service.objects.select_related("owner_note").get(slug="checkout-api")
    assert (checkout.team, checkout.tier, checkout.is_public) == (payments, Tier.CRITICAL, True)
    note = checkout.owner_note
    assert note.expected_result == "GET /health returns ok"
    assert note.runbook == "## Restart\nRun `make restart`."
    assert note.links == (
        "Dashboard https://grafana.example.com/d/checkout\nhttps://git.example.com/checkout"
    )
    search_api = Service.objects.get(slug="search-api")
    assert (search_api.position, search_api.tier) == (3, Tier.NORMAL)
    assert search_api.owner_note.runbook == ""
    assert checkout.history.first().history_change_reason == "sync_catalog catalog.yaml"
    assert note.history.first().history_change_reason == "sync_catalog catalog.yaml"


def test_second_run_changes_nothing_writes_no_history_and_says_so(tmp_path):
    make_user("alice")
    path = write(tmp_path, CATALOG)
    sync(path)
    before = row_counts()

    output = sync(path)

    assert output == f"No changes: 2 teams, 2 services already match {path}\n"
    assert row_counts() == before


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    make_user("alice")
    bob = make_user("bob")
    payments = make_team("payments", name="Payments", chat_channel="#pay")
    payments.members.add(bob)
    make_service("checkout-api", team=payments, name="Checkout API", tier=Tier.HIGH)
    path = write(tmp_path, CATALOG)
    before = row_counts()

    output = sync(path, "--dry-run")

    assert output.splitlines() == [
        "  update team payments: chat_channel '#pay' -> '#payments'; members +alice -bob",
        "  create team search: name",
        "  update service checkout-api: tier 'high' -> 'critical'; public False -> True",
        "  update owner notes checkout-api: expected_result 'GET /health returns 200 with ok=true'"
        " -> 'GET /health returns ok'; runbook '' -> '## Restart\\nRun `make restart`.'; "
        "links '' -> 'Dashboard https://grafana.example.c...'",
        "  create service search-api: name, position, team",
        f"Dry run of {path}, nothing written: teams 1 to create, 1 to update, 0 unchanged; "
        "services 1 to create, 1 to update, 0 unchanged; owner notes 1 to update",
    ]
    assert row_counts() == before
    assert list(payments.members.all()) == [bob]


def test_an_update_changes_only_the_fields_that_differ(tmp_path):
    make_user("alice")
    path = write(tmp_path, CATALOG)
    sync(path)
    before = row_counts()
    write(tmp_path, CATALOG.replace("tier: critical", "tier: high").replace("`make", "`just"))

    output = sync(path)

    assert output == (
        f"Synced {path}: teams 0 created, 0 updated, 2 unchanged; "
        "services 0 created, 1 updated, 1 unchanged; owner notes 1 updated\n"
    )
    checkout = Service.objects.get(slug="checkout-api")
    assert checkout.tier == Tier.HIGH
    assert checkout.owner_note.runbook == "## Restart\nRun `just restart`."
    # One new history row for the service and one for its notes; the teams are untouched.
    assert row_counts() == {
        **before,
        "HistoricalService": before["HistoricalService"] + 1,
        "HistoricalOwnerNote": before["HistoricalOwnerNote"] + 1,
    }
    latest = checkout.history.first()
    assert latest.history_change_reason == "sync_catalog catalog.yaml"
    changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert changed == {"tier"}


def test_team_members_follow_the_file(tmp_path):
    make_user("alice")
    bob = make_user("bob")
    path = write(tmp_path, CATALOG)
    sync(path)
    write(tmp_path, CATALOG.replace("members: [alice]", "members: [bob]"))

    output = sync(path)

    assert output.startswith(f"Synced {path}: teams 0 created, 1 updated, 1 unchanged; ")
    assert list(Team.objects.get(slug="payments").members.all()) == [bob]


def test_keys_left_out_of_the_file_keep_their_values(tmp_path):
    search = make_team("search", name="Search", contact_email="search@example.com")
    make_service("search-api", team=search, description="Product search", is_paused=True)
    path = write(
        tmp_path,
        """\
        services:
          - name: Search API
            slug: search-api
            team: search
        """,
    )

    sync(path)

    service = Service.objects.get(slug="search-api")
    assert (service.description, service.is_paused, service.name) == (
        "Product search",
        True,
        "Search API",
    )
    assert service.owner_note.expected_result == "GET /health returns 200 with ok=true"
    assert Team.objects.get(slug="search").contact_email == "search@example.com"


def test_services_the_file_does_not_mention_are_left_alone_and_counted(tmp_path):
    make_user("alice")
    legacy = make_service("legacy-cron", team=make_team("ops"), tier=Tier.LOW)
    path = write(tmp_path, CATALOG)

    output = sync(path)

    assert output.endswith("owner notes 1 updated; 1 other service not in the file left alone\n")
    assert Service.objects.get(pk=legacy.pk).tier == Tier.LOW


def test_a_service_may_belong_to_a_team_that_only_the_database_knows(tmp_path):
    ops = make_team("ops")
    path = write(
        tmp_path,
        """\
        services:
          - name: Backups
            slug: backups
            team: ops
        """,
    )

    sync(path)

    assert Service.objects.get(slug="backups").team == ops


def test_a_syntax_error_names_its_line_and_writes_nothing(tmp_path):
    path = write(
        tmp_path,
        """\
        teams:
          - name: Payments
            slug: payments
            escalation_note: call: the manager
        """,
    )
    before = row_counts()

    message = sync_fails(path)

    assert message == (
        f"{path}:4: invalid YAML: mapping values are not allowed here\n"
        f"1 problem in {path}; nothing written"
    )
    assert row_counts() == before


def test_every_problem_in_the_file_is_reported_at_once_in_file_order(tmp_path):
    path = write(
        tmp_path,
        """\
        teams:
          - name: Payments
            slug: payments
            contact_email: nobody
            members: [ghost]
          - name: Payments
            slug: payments
        services:
          - name: Checkout API
            slug: Checkout API
            team: billing
            public: sometimes
            owner_notes:
              links:
                - title: Dashboard
                  url: ftp://files.example.com/
          - slug: search-api
            team: payments
            alerts: []
        """,
    )
    before = row_counts()

    message = sync_fails(path)

    assert message.splitlines() == [
        f"{path}:4: teams[0].contact_email: 'nobody' is not a valid email address",
        f"{path}:5: teams[0].members[0]: no user with username 'ghost'",
        f"{path}:6: teams[1].name: 'Payments' is already used by teams[0] (line 2)",
        f"{path}:7: teams[1].slug: 'payments' is already used by teams[0] (line 3)",
        f"{path}:10: services[0].slug: 'Checkout API' is not a valid slug"
        " (letters, numbers, hyphens, underscores)",
        f"{path}:11: services[0].team: no team 'billing' in the file or the database",
        f"{path}:12: services[0].public: expected true or false, got the text 'sometimes'",
        f"{path}:16: services[0].owner_notes.links[0].url: 'ftp://files.example.com/'"
        " is not a valid http(s) URL",
        f"{path}:17: services[1].name: required field is missing",
        f"{path}:19: services[1].alerts: unknown field; expected one of name, slug, description,"
        " team, tier, component_group, public, public_name, public_description, paused,"
        " position, owner_notes, checks",
        f"10 problems in {path}; nothing written",
    ]
    assert row_counts() == before


def test_an_error_while_writing_rolls_back_everything_written_before_it(tmp_path):
    # Each name is checked against the database, but swapping two names in one run trips
    # the unique name as the first team is saved, after a new team was already created.
    make_team("payments", name="Payments")
    make_team("billing", name="Billing")
    path = write(
        tmp_path,
        """\
        teams:
          - name: Search
            slug: search
          - name: Billing
            slug: payments
          - name: Payments
            slug: billing
        """,
    )
    before = row_counts()

    message = sync_fails(path)

    assert message == (
        f"{path}:5: teams[1]: Team with this Name already exists.\n"
        f"1 problem in {path}; nothing written"
    )
    assert row_counts() == before
    assert not Team.objects.filter(slug="search").exists()


def test_the_example_catalog_imports_cleanly_and_then_matches(tmp_path):
    output = sync(EXAMPLE)

    assert output == (
        f"Synced {EXAMPLE}: teams 4 created, 0 updated, 0 unchanged; "
        "services 11 created, 0 updated, 0 unchanged; owner notes 11 updated; "
        "checks 13 created, 0 updated, 0 unchanged\n"
    )
    assert all(note.link_list is not None for note in OwnerNote.objects.all())
    assert sync(EXAMPLE) == (
        f"No changes: 4 teams, 11 services, 13 checks already match {EXAMPLE}\n"
    )


BAD_INPUTS = {
    "invalid choice": (
        "tier: critical",
        "tier: urgent",
        "13: services[0].tier: 'urgent' is not one of critical, high, normal, low",
    ),
    "unknown field": (
        "tier: critical",
        "teir: critical",
        "13: services[0].teir: unknown field; did you mean 'tier'?",
    ),
    "missing field": (
        "    slug: search-api\n",
        "",
        "25: services[1].slug: required field is missing",
    ),
    "wrong type": (
        "position: 3",
        "position: third",
        "28: services[1].position: expected a whole number, got the text 'third'",
    ),
    "unknown team": (
        "team: search\n",
        "team: serch\n",
        "27: services[1].team: no team 'serch' in the file or the database",
    ),
    "duplicate slug": (
        "slug: search-api",
        "slug: checkout-api",
        "26: services[1].slug: 'checkout-api' is already used by services[0] (line 11)",
    ),
    "invalid link URL": (
        "url: https://git.example.com/checkout",
        "url: git@example.com:checkout.git",
        "24: services[0].owner_notes.links[1].url: 'git@example.com:checkout.git' is not a "
        "valid http(s) URL",
    ),
    "invalid email": (
        "payments@example.com",
        "payments-at-example",
        "4: teams[0].contact_email: 'payments-at-example' is not a valid email address",
    ),
    "unknown username": (
        "members: [alice]",
        "members: [alice, bob]",
        "6: teams[0].members[1]: no user with username 'bob'",
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_named_by_file_line_and_field_and_nothing_is_written(
    tmp_path, old, new, expected
):
    make_user("alice")
    assert old in CATALOG
    path = write(tmp_path, CATALOG.replace(old, new, 1))
    before = row_counts()

    message = sync_fails(path)

    assert message == f"{path}:{expected}\n1 problem in {path}; nothing written"
    assert row_counts() == before


class LabelsSection:
    """A service section as another app would register one: ``labels: [text, ...]``."""

    key = "labels"
    noun = "label"
    field = Field("list", item=Field("text", required=True))

    def __init__(self) -> None:
        self.applied: list[tuple[str, list[str], str]] = []

    def validate(self, sections: list[Section]) -> list[Problem]:
        return [
            Problem(ref.line, ref.path, "labels must be lower case")
            for section in sections
            for ref in section.value
            if ref.value != ref.value.lower()
        ]

    def plan(self, sections: list[Section]) -> SectionPlan:
        changes = [
            Change("label", f"{section.service.value}/{ref.value}", "create", {"text": (None, 1)})
            for section in sections
            for ref in section.value
        ]
        return SectionPlan(changes=changes, unmentioned=4)

    def apply(self, *, service: Service, value: list, reason: str) -> list[str]:
        self.applied.append((service.slug, [ref.value for ref in value], reason))
        return ["create"] * len(value)


@pytest.fixture
def labels(monkeypatch) -> LabelsSection:
    handler = LabelsSection()
    monkeypatch.setitem(SERVICE_SECTIONS, handler.key, handler)
    return handler


def test_a_registered_section_is_read_planned_and_written_through_its_handler(tmp_path, labels):
    make_user("alice")
    path = write(tmp_path, CATALOG.replace("    position: 3\n", "    labels: [search, edge]\n"))

    plan = sync(path, "--dry-run")
    output = sync(path)

    assert plan.splitlines()[-3:] == [
        "  create label search-api/search: text",
        "  create label search-api/edge: text",
        f"Dry run of {path}, nothing written: teams 2 to create, 0 to update, 0 unchanged; "
        "services 2 to create, 0 to update, 0 unchanged; owner notes 1 to update; "
        "labels 2 to create, 0 to update, 0 unchanged; 4 other labels not in the file left alone",
    ]
    assert output == (
        f"Synced {path}: teams 2 created, 0 updated, 0 unchanged; "
        "services 2 created, 0 updated, 0 unchanged; owner notes 1 updated; "
        "labels 2 created, 0 updated, 0 unchanged; 4 other labels not in the file left alone\n"
    )
    assert labels.applied == [("search-api", ["search", "edge"], "sync_catalog catalog.yaml")]


def test_a_section_the_file_does_not_use_stays_out_of_the_summary(tmp_path, labels):
    make_user("alice")
    path = write(tmp_path, CATALOG)

    output = sync(path)

    assert output == (
        f"Synced {path}: teams 2 created, 0 updated, 0 unchanged; "
        "services 2 created, 0 updated, 0 unchanged; owner notes 1 updated\n"
    )
    assert labels.applied == []


def test_a_section_reports_its_problems_with_the_catalog_s_and_nothing_is_written(tmp_path, labels):
    make_user("alice")
    text = CATALOG.replace("tier: critical", "tier: urgent")
    path = write(tmp_path, text.replace("    position: 3\n", "    labels: [Search, 3]\n"))
    before = row_counts()

    message = sync_fails(path)

    assert message.splitlines() == [
        f"{path}:13: services[0].tier: 'urgent' is not one of critical, high, normal, low",
        f"{path}:28: services[1].labels[0]: labels must be lower case",
        f"{path}:28: services[1].labels[1]: expected text, got the number 3",
        f"3 problems in {path}; nothing written",
    ]
    assert row_counts() == before
    assert labels.applied == []


def test_a_section_key_can_be_registered_by_one_handler_only(labels):
    class OtherLabels(LabelsSection):
        pass

    with pytest.raises(ValueError, match="'labels' is already registered"):
        register_service_section(OtherLabels())
    register_service_section(LabelsSection())  # the same handler again, as a second ready()
