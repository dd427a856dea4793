"""Secret check settings are encrypted at rest, opened for the probe, rotated by a command."""

import importlib
import io

import pytest
from aiohttp import web
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db.models import JSONField, TextField, Value
from django.db.models.functions import Cast

from checks.definitions import DefinitionError, target_build
from checks.models import Check, Kind
from checks.runner import jobs_for, observations_collect
from checks.scheduling import Claim
from checks.sealing import MASK, config_keep_masked, config_masked, is_sealed
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worlds import sync, write
from tests.factories import make_service, make_team

SECRET = "Bearer tok-3f9a1c77e0b2"


def raw_config(check: Check) -> str:
    """The config column as the database holds it."""
    return (
        Check.objects.filter(pk=check.pk)
        .annotate(raw=Cast("config", TextField()))
        .values_list("raw", flat=True)
        .get()
    )


@pytest.fixture
def header_check(service):
    return make_check(
        service,
        config={"url": "http://127.0.0.1:9/health", "headers": {"Authorization": SECRET}},
    )


def test_header_values_are_encrypted_in_the_database(header_check):
    raw = raw_config(header_check)
    assert SECRET not in raw
    assert "sealed:" in raw
    assert "Authorization" in raw  # names stay readable; only values are secret


def test_header_values_read_back_in_full_for_the_engine(header_check):
    assert Check.objects.get(pk=header_check.pk).config["headers"] == {"Authorization": SECRET}
    (config,) = Check.objects.filter(pk=header_check.pk).values_list("config", flat=True)
    assert config["headers"]["Authorization"] == SECRET


def test_a_url_password_is_encrypted_and_masked(service):
    check = make_check(service, config={"url": "https://ci:hunter2-pw@127.0.0.1:9/health"})
    assert "hunter2-pw" not in raw_config(check)
    stored = Check.objects.get(pk=check.pk).config
    assert stored["url"] == "https://ci:hunter2-pw@127.0.0.1:9/health"
    assert config_masked(stored)["url"] == f"https://ci:{MASK}@127.0.0.1:9/health"


def test_saving_twice_keeps_one_layer_of_encryption(header_check):
    header_check.refresh_from_db()
    header_check.save()
    header_check.refresh_from_db()
    assert header_check.config["headers"]["Authorization"] == SECRET


def test_the_probe_sends_the_decrypted_header(header_check):
    seen = []

    async def health(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/health", health)
    with serving_app(app) as port:
        header_check.config = {**header_check.config, "url": f"http://127.0.0.1:{port}/health"}
        header_check.save()
        jobs = jobs_for([Claim(header_check.pk, 1)])
        (observation,) = observations_collect(jobs)
    assert seen == [SECRET]
    assert observation.outcome == 1


def test_a_value_no_key_opens_is_refused_not_sent(header_check, settings):
    settings.CHECK_SECRET_KEYS = ["a-different-key-entirely"]
    config = Check.objects.get(pk=header_check.pk).config
    assert is_sealed(config["headers"]["Authorization"])
    with pytest.raises(DefinitionError, match="cannot be decrypted"):
        target_build(Kind.HTTP, config, degraded_ms=None)
    (job,) = jobs_for([Claim(header_check.pk, 1)])
    assert job.target is None
    assert "CHECK_SECRET_KEYS" in job.invalid


def test_reseal_moves_every_secret_to_the_first_key(header_check, settings):
    settings.CHECK_SECRET_KEYS = ["new-key-for-this-year", settings.SECRET_KEY]
    out = io.StringIO()
    call_command("check_secrets_reseal", stdout=out)
    assert "resealed 1 of 1 checks" in out.getvalue()
    settings.CHECK_SECRET_KEYS = ["new-key-for-this-year"]  # the old key is gone now
    check = Check.objects.get(pk=header_check.pk)
    assert check.config["headers"]["Authorization"] == SECRET
    out = io.StringIO()
    call_command("check_secrets_reseal", stdout=out)
    assert "resealed 0 of 1 checks" in out.getvalue()


def test_reseal_reports_values_no_key_opens(header_check, settings):
    settings.CHECK_SECRET_KEYS = ["a-different-key-entirely"]
    out = io.StringIO()
    call_command("check_secrets_reseal", stdout=out)
    assert "unreadable 1" in out.getvalue()
    settings.CHECK_SECRET_KEYS = [settings.SECRET_KEY]
    assert Check.objects.get(pk=header_check.pk).config["headers"]["Authorization"] == SECRET


def test_the_migration_seals_values_stored_in_the_clear(header_check):
    plain = {"url": "http://127.0.0.1:9/health", "headers": {"X-Api-Key": "k-plain-1"}}
    # Written as plain JSON, past the sealing field: as rows stood before the migration.
    Check.objects.filter(pk=header_check.pk).update(config=Value(plain, output_field=JSONField()))
    assert "k-plain-1" in raw_config(header_check)
    migration = importlib.import_module("checks.migrations.0007_secrets_sealed_config")
    migration.seal_existing(django_apps, None)
    assert "k-plain-1" not in raw_config(header_check)
    assert Check.objects.get(pk=header_check.pk).config["headers"] == {"X-Api-Key": "k-plain-1"}


def test_a_mask_left_unchanged_keeps_the_stored_secret():
    old = {"url": "https://u:pw@h.example/", "headers": {"Authorization": SECRET}}
    new = {"url": f"https://u:{MASK}@h.example/x", "headers": {"authorization": MASK, "X": "1"}}
    kept = config_keep_masked(new, old)
    assert kept["url"] == "https://u:pw@h.example/x"
    assert kept["headers"] == {"authorization": SECRET, "X": "1"}


def test_a_mask_standing_for_no_secret_is_refused():
    with pytest.raises(ValueError, match="X-New"):
        config_keep_masked({"headers": {"X-New": MASK}}, {"headers": {}})


def test_run_check_prints_the_target_with_its_password_masked(service):
    check = make_check(service, config={"url": "http://ci:hunter2-pw@127.0.0.1:9/health"})
    out = io.StringIO()
    call_command("run_check", str(check.pk), stdout=out)
    assert "hunter2-pw" not in out.getvalue()
    assert f"http://ci:{MASK}@127.0.0.1:9/health" in out.getvalue()


@pytest.mark.django_db
def test_the_catalog_plan_never_prints_a_url_password(tmp_path):
    checkout = make_service("checkout-api", team=make_team("payments"), name="Checkout API")
    make_check(checkout, "health", config={"url": "https://ci:old-pw@checkout.example.com/"})
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
                url: https://ci:new-pw@checkout.example.com/
        """,
    )
    output = sync(path, "--dry-run")
    assert "old-pw" not in output and "new-pw" not in output
    assert f"https://ci:{MASK}@checkout" in output
