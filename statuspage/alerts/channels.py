"""Channels: the one set of rules for what a channel may be, and the one way to save it.

The admin, the API and the catalog YAML all validate through `channel_errors` and write
through `channel_save`, so a target refused in one place is refused in all of them, and a
webhook channel gets its signing secret the same way everywhere.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction

from checks.definitions import allow_private_targets
from checks.screening import TargetRefused, screen_literal
from statuspage.alerts.models import Channel, ChannelKind, EventKind
from statuspage.alerts.senders import apprise
from statuspage.alerts.senders.email import addresses_of
from statuspage.alerts.senders.webhook import new_signing_secret, valid_signing_secret
from statuspage.catalog.models import Team, Tier

_url = URLValidator(schemes=["http", "https"])
_email = EmailValidator()


def _screen(host: str | None) -> str | None:
    """Addresses and metadata names are refused when the channel is saved, as a check's are;
    a name's addresses are screened when the message is sent (DNS may answer otherwise
    by then)."""
    if not host:
        return None
    try:
        screen_literal(host, allow_private=allow_private_targets())
    except TargetRefused as exc:
        return f"target refused: {exc.message}"
    return None


def target_errors(kind: str, target: str) -> list[str]:
    """What is wrong with `target` for a channel of `kind` (empty: nothing). Messages never
    quote the target: it may carry a token."""
    if not target.strip():
        return ["the target is empty"]
    if kind == ChannelKind.EMAIL:
        errors = []
        for number, address in enumerate(addresses_of(target), start=1):
            try:
                _email(address)
            except ValidationError:
                errors.append(f"address {number} is not an email address")
        return errors
    if kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
        try:
            _url(target)
        except ValidationError:
            return ["not an http(s) URL"]
        refused = _screen(urlsplit(target).hostname)
        return [refused] if refused else []
    if kind == ChannelKind.APPRISE:
        if not apprise.valid(target):
            return ["not an Apprise URL this installation understands"]
        try:
            refused = _screen(urlsplit(target).hostname)
        except ValueError:
            return ["not an Apprise URL this installation understands"]
        return [refused] if refused else []
    return [f"unknown channel kind {kind!r}"]


def settings_errors(*, events: Any, min_tier: Any, remind_every_s: Any) -> dict[str, str]:
    errors = {}
    known = set(EventKind.values)
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        errors["events"] = "a list of event kinds"
    elif unknown := [e for e in events if e not in known]:
        errors["events"] = f"unknown event kind(s): {', '.join(unknown)}"
    if min_tier not in Tier.values:
        errors["min_tier"] = f"one of {', '.join(Tier.values)}"
    if remind_every_s is not None and (
        not isinstance(remind_every_s, int)
        or isinstance(remind_every_s, bool)
        or remind_every_s < 60
    ):
        errors["remind_every_s"] = "empty, or at least 60 seconds"
    return errors


@dataclass(frozen=True)
class Saved:
    channel: Channel
    created: bool
    # The signing secret when one was made in this call: shown once, then only masked.
    new_secret: str | None = None


def channel_save(
    *,
    team: Team,
    name: str,
    kind: str,
    target: str | None,
    fields: dict[str, Any] | None = None,
    signing_secret: str | None = None,
    new_secret: bool = False,
    channel: Channel | None = None,
) -> Saved:
    """Create or update the team's channel `name` (or `channel` itself, when given: the
    admin may rename a channel or move it to another team).

    1. `target` None keeps the stored target (an edit that does not touch the secret URL).
    2. A webhook channel without a secret, or asked for `new_secret`, gets a fresh one;
       a given `signing_secret` (from the YAML's environment) must be ``whsec_<base64>``.
    3. Raises ValidationError naming the field for anything `channel_errors` refuses.
    """
    fields = dict(fields or {})
    with transaction.atomic():
        rows = Channel.objects.select_for_update()
        if channel is not None:
            channel = rows.get(pk=channel.pk)
        else:
            channel = rows.filter(team=team, name=name).first()
        created = channel is None
        channel = channel or Channel()
        channel.team, channel.name = team, name
        if kind != channel.kind and not created and target is None:
            raise ValidationError({"target": "enter the target again when changing the kind"})
        channel.kind = kind
        if target is not None:
            errors = target_errors(kind, target)
            if errors:
                raise ValidationError({"target": errors})
            channel.target = target
        for name_, value in fields.items():
            setattr(channel, name_, value)
        problems = settings_errors(
            events=channel.events, min_tier=channel.min_tier, remind_every_s=channel.remind_every_s
        )
        if problems:
            raise ValidationError(problems)
        made = None
        if kind == ChannelKind.WEBHOOK:
            if signing_secret is not None:
                if not valid_signing_secret(signing_secret):
                    raise ValidationError({"signing_secret": "expected whsec_<base64>"})
                channel.signing_secret = signing_secret
            elif new_secret or not channel.signing_secret:
                made = new_signing_secret()
                channel.signing_secret = made
        else:
            channel.signing_secret = ""
        channel.save()
    return Saved(channel=channel, created=created, new_secret=made)
