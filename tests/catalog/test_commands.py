from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from statuspage.catalog.demo import DEMO_SERVICES, DEMO_TEAMS
from statuspage.catalog.models import Deployment, DeploymentSource, OwnerNote, Service, Team


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_teams_services_and_owner_notes():
    output = run("seed_demo")
    assert Team.objects.count() == len(DEMO_TEAMS)
    assert Service.objects.count() == len(DEMO_SERVICES)
    assert OwnerNote.objects.count() == len(DEMO_SERVICES)
    checkout = Service.objects.select_related("owner_note", "team").get(slug="checkout-api")
    assert checkout.team.slug == "payments"
    assert "Redeploy the previous image tag" in checkout.owner_note.rollback_note
    assert f"{len(DEMO_TEAMS)} teams and {len(DEMO_SERVICES)} services created" in output


@pytest.mark.django_db
def test_seed_demo_second_run_changes_nothing_and_says_so():
    run("seed_demo")
    output = run("seed_demo")
    assert "no changes" in output
    assert Service.objects.count() == len(DEMO_SERVICES)


@pytest.mark.django_db
def test_seed_demo_grows_to_a_larger_catalog_with_progress():
    output = run("seed_demo", "--services", "2500")
    assert Service.objects.count() == 2500
    assert OwnerNote.objects.count() == 2500
    assert "services 1000/2500" in output
    assert Service.objects.values("slug").distinct().count() == 2500


@pytest.mark.django_db
def test_seed_demo_refuses_zero_services():
    with pytest.raises(CommandError, match="at least 1"):
        run("seed_demo", "--services", "0")


@pytest.mark.django_db
def test_record_deploy_stores_the_change_note(service):
    output = run(
        "record_deploy", service.slug, "2026.11.26-1",
        "--ref", "a1b2c3d", "--by", "ci-pipeline", "--at", "2026-11-26T10:00:00+00:00",
        "--reason", "Cache product lookups", "--files", "app/cache.py",
        "--command", "make deploy", "--expect", "p95 latency down",
    )  # fmt: skip
    deployment = Deployment.objects.get()
    assert deployment.service == service
    assert deployment.version == "2026.11.26-1"
    assert deployment.ref == "a1b2c3d"
    assert deployment.deployed_by == "ci-pipeline"
    assert deployment.deployed_at.isoformat() == "2026-11-26T10:00:00+00:00"
    assert deployment.reason == "Cache product lookups"
    assert deployment.files_touched == "app/cache.py"
    assert deployment.command == "make deploy"
    assert deployment.expected_metric == "p95 latency down"
    assert deployment.source == DeploymentSource.COMMAND
    assert f"Recorded deployment #{deployment.pk}: checkout-api 2026.11.26-1" in output


@pytest.mark.django_db
def test_record_deploy_defaults_to_now(service, settings):
    import time_machine

    with time_machine.travel("2026-11-26 12:00:00+00:00", tick=False):
        run("record_deploy", service.slug, "v2", "--by", "dana")
    assert Deployment.objects.get().deployed_at.isoformat() == "2026-11-26T12:00:00+00:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-service", "v1", "--by", "ci"], "unknown service 'no-such-service'"),
        (["checkout-api", "v1", "--by", "ci", "--at", "yesterday"], "not an ISO 8601 time"),
        (["checkout-api", "v1", "--by", "ci", "--at", "2026-11-26T10:00"], "no time zone offset"),
        (["checkout-api", "x" * 101, "--by", "ci"], "version: Ensure this value has at most 100"),
    ],
)
def test_record_deploy_rejects_bad_input_and_writes_nothing(service, args, message):
    with pytest.raises(CommandError, match=message):
        run("record_deploy", *args)
    assert Deployment.objects.count() == 0
