import time

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from checks.definitions import DefinitionError, definition_errors, target_build
from checks.models import Check, Kind
from checks.probes.base import HttpTarget
from tests.checks.factories import make_check


def errors(kind: str = Kind.HTTP, config=None, interval_s=60, timeout_s=5.0, **kw):
    config = {"url": "http://svc.internal/health"} if config is None else config
    return definition_errors(
        kind=kind, config=config, interval_s=interval_s, timeout_s=timeout_s, **kw
    )


def test_a_fastapi_health_check_is_valid():
    assert errors(config={"url": "http://svc.internal/health", "conditions": ["ok == true"]}) == {}


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"interval_s": 5}, "interval_s", "the interval must be at least 10 seconds"),
        ({"timeout_s": 0}, "timeout_s", "the timeout must be between 0 and 60 seconds"),
        ({"timeout_s": 30, "interval_s": 20}, "timeout_s", "shorter than the interval"),
        ({"config": {"url": "ftp://files"}}, "config", "URL must be http:// or https://"),
        ({"config": {"url": "http://a/", "conditions": ["ok =="]}}, "config", "conditions:"),
        ({"config": {"url": "http://a/", "verb": "GET"}}, "config", "unknown setting(s) verb"),
        ({"config": {}}, "config", "required setting(s) missing: url"),
        ({"config": {"url": "http://169.254.169.254/latest"}}, "config", "target refused"),
        ({"config": {"url": "http://metadata.google.internal/"}}, "config", "metadata"),
        ({"kind": "smtp"}, "kind", "unknown kind 'smtp'"),
        ({"kind": Kind.TCP, "config": {"host": "db", "port": 70000}}, "config", "port must be"),
        ({"kind": Kind.HEARTBEAT, "config": {}, "cron": "61 * * * *"}, "cron", "Bad minute"),
        ({"degraded_ms": -1}, "degraded_ms", "positive"),
    ],
)
def test_invalid_definitions_are_rejected_with_a_clear_message(kwargs, field, message):
    found = errors(**kwargs)
    assert field in found, found
    assert message in " ".join(found[field])


def test_a_condition_error_names_its_column():
    found = errors(config={"url": "http://a/", "conditions": ["db.status === 'up'"]})
    assert "column" in found["config"][0]


def test_private_targets_follow_the_setting(settings):
    config = {"url": "http://10.0.0.5/health"}
    settings.CHECK_PRIVATE_TARGETS = ["private"]
    assert errors(config=config) == {}
    settings.CHECK_PRIVATE_TARGETS = []
    assert "a private address" in errors(config=config)["config"][0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://2852039166/", "2852039166 (169.254.169.254) is a cloud metadata address"),
        ("http://0x7f.1/", "0x7f.1 (127.0.0.1) is a loopback address"),
        ("http://0177.0.0.1:8000/", "0177.0.0.1 (127.0.0.1) is a loopback address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "(169.254.169.254) is a cloud metadata address"),
        ("http://[2002:a9fe:a9fe::]/", "(169.254.169.254) is a cloud metadata address"),
        ("http://[::169.254.169.254]/", "(169.254.169.254) is a cloud metadata address"),
    ],
)
def test_every_spelling_of_a_refused_address_fails_validation(settings, url, message):
    settings.CHECK_PRIVATE_TARGETS = ["private"]

    found = errors(config={"url": url})

    assert message in found["config"][0], found


def test_loopback_is_valid_only_when_listed(settings):
    config = {"url": "http://127.0.0.1:8000/health"}
    settings.CHECK_PRIVATE_TARGETS = ["private"]
    assert "a loopback address" in errors(config=config)["config"][0]
    settings.CHECK_PRIVATE_TARGETS = ["private", "loopback"]
    assert errors(config=config) == {}


def test_a_cidr_in_the_allowlist_admits_only_its_range(settings):
    settings.CHECK_PRIVATE_TARGETS = ["10.20.0.0/16"]
    assert errors(config={"url": "http://10.20.3.4/"}) == {}
    assert "a private address" in errors(config={"url": "http://10.21.3.4/"})["config"][0]


def test_an_unknown_allowlist_item_is_a_configuration_error(settings):
    settings.CHECK_PRIVATE_TARGETS = ["private", "intranet"]

    with pytest.raises(ImproperlyConfigured, match="'intranet' is neither"):
        errors(config={"url": "http://10.0.0.5/"})


def test_target_build_passes_the_degraded_threshold():
    target = target_build(Kind.HTTP, {"url": "http://svc/health"}, degraded_ms=250)
    assert isinstance(target, HttpTarget)
    assert target.degraded_ms == 250
    with pytest.raises(DefinitionError, match="URL must be"):
        target_build(Kind.HTTP, {"url": "nope"}, degraded_ms=None)


@pytest.mark.django_db
def test_model_validation_uses_the_same_rules(service):
    check = Check(
        service=service, name="bad", kind=Kind.HTTP, config={"url": "x"}, interval_s=5, timeout_s=3
    )
    with pytest.raises(ValidationError) as raised:
        check.full_clean()
    assert set(raised.value.message_dict) == {"interval_s", "config"}


@pytest.mark.django_db
def test_admin_refuses_an_invalid_check_with_the_message(client, admin_user, service):
    client.force_login(admin_user)
    response = client.post(
        "/admin/checks/check/add/",
        {
            "service": service.pk, "name": "api", "kind": "http",
            "http_url": "http://169.254.169.254/", "http_method": "GET", "interval_s": "5",
            "timeout_s": "5",
            "failures_before_down": "2", "successes_before_up": "1", "grace_s": "300",
            "cron": "", "is_enabled": "on",
        },
    )  # fmt: skip
    assert response.status_code == 200
    text = response.content.decode()
    assert "the interval must be at least 10 seconds" in text
    assert "target refused: 169.254.169.254 is a cloud metadata address" in text
    assert Check.objects.count() == 0


@pytest.mark.django_db
def test_admin_creates_a_valid_check_on_its_slot_grid(client, admin_user, service):
    client.force_login(admin_user)
    response = client.post(
        "/admin/checks/check/add/",
        {
            "service": service.pk, "name": "api", "kind": "http",
            "http_url": "http://127.0.0.1:8000/health", "http_conditions": "ok == true",
            "interval_s": "30", "timeout_s": "5", "failures_before_down": "2",
            "successes_before_up": "1", "grace_s": "300", "cron": "", "is_enabled": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    check = Check.objects.get()
    # Put on its slot grid as check_upsert puts a check from the API or the YAML.
    assert -5 < check.next_due_at.timestamp() - time.time() <= 30
    assert make_check(service, "other").next_due_at is not None
