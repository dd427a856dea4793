"""One definition, three doors: the YAML import, the API and the admin form name a check's
fields alike and refuse a bad definition with the same message."""

import json

import pytest
from django.core.management import CommandError

from checks.admin_forms import CheckForm
from checks.definitions import FIELD_NAMES
from checks.models import Check
from checks.sync import CHECK_SCHEMA
from statuspage.api.checks_api import CheckIn
from statuspage.api.services import api_token_create
from tests.checks.worlds import sync, write
from tests.factories import token_owner

pytestmark = pytest.mark.django_db

# (field as the file and the API write it, a bad value, the message every door gives)
BAD = [
    ("kind", "smtp", "unknown kind 'smtp': use one of http, tcp, tls, dns, heartbeat"),
    ("interval", 5, "the interval must be at least 10 seconds"),
    ("failures_before_down", 0, "failures before down must be at least 1"),
    ("successes_before_up", 0, "successes before up must be at least 1"),
    ("cron", "61 * * * *", "'61 * * * *': Bad minute"),
]


def test_the_file_and_the_api_name_the_same_fields():
    in_file = {key: spec.attr for key, spec in CHECK_SCHEMA.items() if key != "name"}

    assert in_file == FIELD_NAMES
    assert set(CheckIn.model_fields) == {*FIELD_NAMES, "config"}


def api_errors(client, service, body: dict) -> dict[str, list[str]]:
    token = api_token_create(
        team=service.team, name="CI", scopes=["checks:write"], created_by=token_owner()
    )[1]
    response = client.put(
        f"/api/v1/services/{service.slug}/checks/nightly",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


@pytest.mark.parametrize(("field", "value", "message"), BAD)
def test_every_door_refuses_with_one_message(client, service, tmp_path, field, value, message):
    body = {"kind": "heartbeat", field: value}
    assert api_errors(client, service, body)[field] == [message]

    lines = "\n".join(f"        {key}: {json.dumps(val)}" for key, val in body.items())
    path = write(tmp_path, CATALOG.format(service=service, lines=lines.lstrip()))
    with pytest.raises(CommandError) as raised:
        sync(path)
    assert f"services[0].checks[0].{field}: {message}" in str(raised.value)

    data = {**FORM, **{FIELD_NAMES[key]: val for key, val in body.items()}}
    form = CheckForm(data=data, instance=Check(service=service))
    assert not form.is_valid()
    assert form.errors[FIELD_NAMES[field]] == [message]


CATALOG = """\
teams:
  - name: {service.team.name}
    slug: {service.team.slug}
services:
  - name: {service.name}
    slug: {service.slug}
    team: {service.team.slug}
    checks:
      - name: nightly
        {lines}
"""
FORM = {
    "name": "nightly",
    "kind": "heartbeat",
    "interval_s": "3600",
    "timeout_s": "10",
    "failures_before_down": "1",
    "successes_before_up": "1",
    "grace_s": "300",
    "is_enabled": "on",
}
