"""The ``channels:`` section of each team in a ``sync_catalog`` file.

A catalog file is committed, so it never holds a secret: a channel's URL and a webhook's
signing secret are named by the environment variable that holds them, and read from the
environment of the process that runs the import::

    teams:
      - slug: payments
        name: Payments
        channels:
          - name: oncall
            kind: slack
            url_env: PAYMENTS_SLACK_URL
            events: [down, up, deploy_regressed]
            min_tier: high
          - name: pager
            kind: webhook
            url_env: PAYMENTS_HOOK_URL
            secret_env: PAYMENTS_HOOK_SECRET    # whsec_<base64>
          - name: mail
            kind: email
            to: [oncall@example.com]            # addresses are not secrets

A missing variable, a literal ``url:``, or a target the channel rules refuse is a problem
at its ``file:line:``. Channels are found by (team, name); channels the file does not name
are left alone. Writes go through `statuspage.alerts.channels.channel_save`, the rules of
the admin and the API.
"""

import os
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from statuspage.alerts.channels import channel_save, settings_errors, target_errors
from statuspage.alerts.models import Channel, ChannelKind
from statuspage.alerts.senders.webhook import valid_signing_secret
from statuspage.catalog.models import Team, Tier
from statuspage.catalog.sync_schema import (
    CatalogError,
    Field,
    Problem,
    Record,
    Ref,
    Schema,
    duplicates,
    int_range,
    join,
    text_field,
)
from statuspage.catalog.sync_sections import Change, Section, SectionPlan

CHANNEL_SCHEMA: Schema = {
    "name": text_field(Channel, "name", required=True),
    "kind": Field("text", required=True, choices=tuple(ChannelKind.values)),
    "url_env": Field("text", max_length=100),
    "secret_env": Field("text", max_length=100),
    "to": Field("list", item=Field("text", required=True)),
    "url": Field("text"),  # read only to refuse it with a clear message
    "events": Field("list", item=Field("text", required=True)),
    "min_tier": Field("text", choices=tuple(Tier.values)),
    "escalation": Field("bool"),
    "remind_every": Field("int", nullable=True, check=int_range(60, 2_147_483_647)),
    "enabled": Field("bool"),
}
LITERAL_URL = "a URL with its token is never written in the file: name its variable in url_env"


@dataclass(frozen=True)
class ChannelSpec:
    """One channel as the file writes it, with what its variables hold."""

    record: Record

    @property
    def name(self) -> str:
        return self.record.values.get("name", "")

    @property
    def kind(self) -> str:
        return self.record.values.get("kind", "")

    def _at(self, key: str, message: str) -> Problem:
        line = self.record.lines.get(key, self.record.line)
        return Problem(line, join(self.record.path, key), message)

    def _env(self, key: str) -> str | None:
        name = self.record.values.get(key)
        return os.environ.get(name) if name else None

    def target(self) -> str | None:
        if self.kind == ChannelKind.EMAIL and "to" in self.record.values:
            return ", ".join(ref.value for ref in self.record.values["to"])
        return self._env("url_env")

    def fields(self) -> dict[str, Any]:
        values = self.record.values
        fields: dict[str, Any] = {}
        if "events" in values:
            fields["events"] = [ref.value for ref in values["events"]]
        for key, attr in (("min_tier", "min_tier"), ("escalation", "escalation"),
                          ("remind_every", "remind_every_s"), ("enabled", "enabled")):  # fmt: skip
            if key in values:
                fields[attr] = values[key]
        if "url_env" in values:
            fields["target_env"] = values["url_env"]
        return fields

    def problems(self) -> list[Problem]:
        if "kind" not in self.record.values:
            return []  # already reported: a channel needs its kind
        values = self.record.values
        if "url" in self.record.lines:
            return [self._at("url", LITERAL_URL)]
        problems = []
        source = "to" if self.kind == ChannelKind.EMAIL else "url_env"
        if source not in values:
            return [self._at(source, "required field is missing")]
        if source == "url_env" and self._env("url_env") is None:
            return [self._at("url_env", f"environment variable {values['url_env']} is not set")]
        problems += [self._at(source, error) for error in target_errors(self.kind, self.target())]
        if self.kind == ChannelKind.WEBHOOK:
            problems += self._secret_problems()
        settings = self.fields()
        errors = settings_errors(
            events=settings.get("events", []),
            min_tier=settings.get("min_tier", Tier.LOW),
            remind_every_s=settings.get("remind_every_s"),
        )
        names = {"remind_every_s": "remind_every"}
        problems += [self._at(names.get(key, key), message) for key, message in errors.items()]
        return problems

    def _secret_problems(self) -> list[Problem]:
        name = self.record.values.get("secret_env")
        if name is None:
            return [self._at("secret_env", "required field is missing (webhook channels)")]
        secret = os.environ.get(name)
        if secret is None:
            return [self._at("secret_env", f"environment variable {name} is not set")]
        if not valid_signing_secret(secret):
            return [self._at("secret_env", f"{name} does not hold whsec_<base64>")]
        return []


class ChannelsSection:
    """The handler ``sync_catalog`` calls for a team's ``channels:``; `Section.service`
    holds the team's slug here."""

    key = "channels"
    noun = "channel"
    field = Field("list", item=Field("record", schema=CHANNEL_SCHEMA))

    def validate(self, sections: list[Section]) -> list[Problem]:
        problems: list[Problem] = []
        for section in sections:
            specs = [ChannelSpec(ref.value) for ref in section.value]
            for spec in specs:
                problems += spec.problems()
            problems += duplicates([n for spec in specs if (n := spec.record.ref("name"))])
        return problems

    def plan(self, sections: list[Section]) -> SectionPlan:
        slugs = {section.service.value for section in sections if section.service}
        current = {
            (channel.team.slug, channel.name): channel
            for channel in Channel.objects.filter(team__slug__in=slugs).select_related("team")
        }
        changes = []
        for section in sections:
            team = section.service.value if section.service else "?"
            for ref in section.value:
                spec = ChannelSpec(ref.value)
                changes.append(_change(f"{team}/{spec.name}", spec, current.get((team, spec.name))))
        named = sum(1 for change in changes if change.action != "create")
        return SectionPlan(changes=changes, unmentioned=Channel.objects.count() - named)

    def apply(self, *, team: Team, value: list[Ref], reason: str) -> list[str]:
        current = {channel.name: channel for channel in Channel.objects.filter(team=team)}
        actions = []
        for ref in value:
            spec = ChannelSpec(ref.value)
            if _change("", spec, current.get(spec.name)).action == "unchanged":
                actions.append("unchanged")
                continue
            secret_env = spec.record.values.get("secret_env")
            try:
                saved = channel_save(
                    team=team,
                    name=spec.name,
                    kind=spec.kind,
                    target=spec.target(),
                    fields=spec.fields(),
                    signing_secret=os.environ.get(secret_env) if secret_env else None,
                )
            except ValidationError as error:
                problem = Problem(spec.record.line, spec.record.path, " ".join(error.messages))
                raise CatalogError([problem]) from None
            actions.append("create" if saved.created else "update")
        return actions


def _change(slug: str, spec: ChannelSpec, before: Channel | None) -> Change:
    """The plan of one channel. A target is a secret: the plan says it changes (naming
    the variable it comes from), never what it is."""
    after = {"kind": spec.kind, **spec.fields()}
    if before is None:
        fields = {key: (None, value) for key, value in after.items()}
        return Change("channel", slug, "create", fields)
    fields = {
        key: (getattr(before, key), value)
        for key, value in after.items()
        if getattr(before, key) != value
    }
    if spec.target() is not None and before.target_value() != spec.target():
        fields["target"] = ("(stored)", f"(from {spec.record.values.get('url_env', 'to')})")
    secret_env = spec.record.values.get("secret_env")
    if secret_env and before.secret_value() != os.environ.get(secret_env):
        fields["signing_secret"] = ("(stored)", f"(from {secret_env})")
    return Change("channel", slug, "update" if fields else "unchanged", fields)
