"""A team's ``channels:`` in a catalog file: secrets only by environment variable, every
problem at its file line, writes through the channel rules."""

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import override_settings

from statuspage.alerts.models import Channel
from statuspage.alerts.senders.webhook import new_signing_secret
from statuspage.alerts.sync import ChannelsSection
from statuspage.catalog.sync_schema import Field, Problem, read
from statuspage.catalog.sync_sections import Section

pytestmark = pytest.mark.django_db

FILE = """\
teams:
  - slug: payments
    channels:
      - name: oncall
        kind: slack
        url_env: PAYMENTS_SLACK_URL
        events: [down, up]
        min_tier: high
      - name: pager
        kind: webhook
        url_env: PAYMENTS_HOOK_URL
        secret_env: PAYMENTS_HOOK_SECRET
      - name: mail
        kind: email
        to: [oncall@example.com, lead@example.com]
"""
SLACK = "https://hooks.example.com/services/T0/B0/slack-tok3n"
HOOK = "https://hooks.example.com/in/hook-tok3n"


def sections(text: str) -> tuple[list[Section], list[Problem]]:
    schema = {"slug": Field("text"), "channels": ChannelsSection.field}
    spec = Field("record", schema={"teams": Field("list", item=Field("record", schema=schema))})
    problems: list[Problem] = []
    record = read(yaml.compose(text, Loader=yaml.SafeLoader), spec, "", problems)
    found = [
        Section(service=team.value.ref("slug"), value=team.value.values["channels"])
        for team in record.values["teams"]
    ]
    return found, problems


@pytest.fixture
def env(monkeypatch):
    secret = new_signing_secret()
    monkeypatch.setenv("PAYMENTS_SLACK_URL", SLACK)
    monkeypatch.setenv("PAYMENTS_HOOK_URL", HOOK)
    monkeypatch.setenv("PAYMENTS_HOOK_SECRET", secret)
    return secret


def test_channels_are_created_from_the_environment(team, env):
    handler = ChannelsSection()
    found, problems = sections(FILE)
    assert problems == [] and handler.validate(found) == []

    plan = handler.plan(found)
    actions = handler.apply(team=team, value=found[0].value, reason="sync")

    assert [c.action for c in plan.changes] == ["create", "create", "create"]
    assert SLACK not in repr(plan.changes)
    assert actions == ["create", "create", "create"]
    slack, pager, mail = (Channel.objects.get(name=n) for n in ("oncall", "pager", "mail"))
    assert (slack.target_value(), slack.events, slack.min_tier) == (SLACK, ["down", "up"], "high")
    assert slack.target_env == "PAYMENTS_SLACK_URL"
    assert (pager.target_value(), pager.secret_value()) == (HOOK, env)
    assert mail.target_value() == "oncall@example.com, lead@example.com"
    assert [c.action for c in handler.plan(found).changes] == ["unchanged"] * 3
    assert handler.apply(team=team, value=found[0].value, reason="sync") == ["unchanged"] * 3


def test_a_new_secret_in_the_environment_updates_the_channel(team, env, monkeypatch):
    handler = ChannelsSection()
    found, _ = sections(FILE)
    handler.apply(team=team, value=found[0].value, reason="sync")
    rotated = new_signing_secret()
    monkeypatch.setenv("PAYMENTS_HOOK_SECRET", rotated)

    (change,) = [c for c in handler.plan(found).changes if c.action != "unchanged"]
    actions = handler.apply(team=team, value=found[0].value, reason="sync")

    assert change.fields == {"signing_secret": ("(stored)", "(from PAYMENTS_HOOK_SECRET)")}
    assert actions == ["unchanged", "update", "unchanged"]
    assert Channel.objects.get(name="pager").secret_value() == rotated


def test_a_missing_variable_is_a_problem_at_its_line(team, env, monkeypatch):
    monkeypatch.delenv("PAYMENTS_HOOK_URL")
    found, _ = sections(FILE)

    (problem,) = ChannelsSection().validate(found)

    assert problem.format("catalog.yaml") == (
        "catalog.yaml:11: teams[0].channels[1].url_env: "
        "environment variable PAYMENTS_HOOK_URL is not set"
    )


def test_a_literal_url_is_refused(team, env):
    text = FILE.replace("url_env: PAYMENTS_SLACK_URL", f"url: {SLACK}")
    found, _ = sections(text)

    (problem,) = ChannelsSection().validate(found)

    assert problem.line == 6
    assert "never written in the file" in problem.message
    assert SLACK not in problem.message


def test_a_webhook_secret_must_be_whsec(team, env, monkeypatch):
    monkeypatch.setenv("PAYMENTS_HOOK_SECRET", "hunter2")
    found, _ = sections(FILE)

    (problem,) = ChannelsSection().validate(found)

    assert (problem.line, problem.message) == (
        12,
        "PAYMENTS_HOOK_SECRET does not hold whsec_<base64>",
    )


@override_settings(CHECK_PRIVATE_TARGETS=[])
def test_a_refused_target_names_the_variable_line(team, env, monkeypatch):
    monkeypatch.setenv("PAYMENTS_SLACK_URL", "http://127.0.0.1:8000/hook")
    found, _ = sections(FILE)

    (problem,) = ChannelsSection().validate(found)

    assert problem.line == 6
    assert "127.0.0.1 is a loopback address" in problem.message


def test_bad_events_and_addresses_are_reported_at_their_lines(team, env):
    text = FILE.replace("[down, up]", "[down, sideways]").replace(
        "lead@example.com", "not-an-address"
    )
    found, _ = sections(text)

    problems = ChannelsSection().validate(found)

    assert [(p.line, p.message) for p in problems] == [
        (7, "unknown event kind(s): sideways"),
        (15, "address 2 is not an email address"),
    ]


COMMAND_FILE = """\
teams:
  - slug: payments
    name: Payments
    channels:
      - name: oncall
        kind: slack
        url_env: PAYMENTS_SLACK_URL
services: []
"""


def sync(tmp_path, text: str, *args: str) -> str:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    out = StringIO()
    call_command("sync_catalog", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_sync_catalog_creates_the_channels_and_plans_without_secrets(tmp_path, env):
    plan = sync(tmp_path, COMMAND_FILE, "--dry-run")
    assert not Channel.objects.exists()
    assert SLACK not in plan and "channel" in plan

    sync(tmp_path, COMMAND_FILE)

    channel = Channel.objects.get(team__slug="payments", name="oncall")
    assert channel.target_value() == SLACK


def test_sync_catalog_names_the_line_of_a_missing_variable(tmp_path, env, monkeypatch):
    monkeypatch.delenv("PAYMENTS_SLACK_URL")
    with pytest.raises(CommandError) as raised:
        sync(tmp_path, COMMAND_FILE)
    assert "catalog.yaml:7: teams[0].channels[0].url_env: environment variable" in str(raised.value)
    assert not Channel.objects.exists()
