from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from statuspage.catalog.models import Deployment, DeploymentSource


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


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
