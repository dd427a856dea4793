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
from tests.checks.worlds import check_form_data, one_check_catalog, put_check, sync, write

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
    status, answer = put_check(client, service, "nightly", body)
    assert status == 422, answer
    found: dict[str, list[str]] = {}
    for error in answer["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


@pytest.mark.parametrize(("field", "value", "message"), BAD)
def test_every_door_refuses_with_one_message(client, service, tmp_path, field, value, message):
    body = {"kind": "heartbeat", field: value}
    assert api_errors(client, service, body)[field] == [message]

    lines = "\n".join(f"{key}: {json.dumps(val)}" for key, val in body.items())
    path = write(tmp_path, one_check_catalog(service, "nightly", lines))
    with pytest.raises(CommandError) as raised:
        sync(path)
    assert f"services[0].checks[0].{field}: {message}" in str(raised.value)

    data = check_form_data("nightly", **{FIELD_NAMES[key]: val for key, val in body.items()})
    form = CheckForm(data=data, instance=Check(service=service))
    assert not form.is_valid()
    assert form.errors[FIELD_NAMES[field]] == [message]
