from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from checks.models import Check, Kind, Result, Rollup, ServiceRollup, State, Verdict
from checks.status import ServiceStatus, service_status
from statuspage.catalog.demo import DEMO_SERVICES, DEMO_TEAMS
from statuspage.catalog.models import Deployment, OwnerNote, Service, Team
from statuspage.demo.history import heartbeat_ping
from statuspage.incidents.models import Incident, IncidentStatus
from tests.checks.factories import make_check

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def urls_and_ports() -> list:
    return sorted(
        str(c["config"].get("url") or c["config"].get("port") or "")
        for c in Check.objects.values("config")
    )


@pytest.mark.django_db
def test_seed_demo_creates_teams_services_and_owner_notes():
    output = run("seed_demo", "--port", "8000")
    assert Team.objects.count() == len(DEMO_TEAMS)
    assert Service.objects.count() == len(DEMO_SERVICES)
    assert OwnerNote.objects.count() == len(DEMO_SERVICES)
    checkout = Service.objects.select_related("owner_note", "team").get(slug="checkout-api")
    assert checkout.team.slug == "payments"
    assert "Redeploy the previous image tag" in checkout.owner_note.rollback_note
    assert f"{len(DEMO_TEAMS)} teams, {len(DEMO_SERVICES)} services and 8 checks" in output


@pytest.mark.django_db
def test_seed_demo_second_run_changes_nothing_and_says_so():
    run("seed_demo", "--port", "8000")
    counts = (Check.objects.count(), Rollup.objects.count(), Deployment.objects.count())
    output = run("seed_demo", "--port", "8000")
    assert "no changes" in output
    assert Service.objects.count() == len(DEMO_SERVICES)
    assert (Check.objects.count(), Rollup.objects.count(), Deployment.objects.count()) == counts
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_seed_demo_checks_follow_the_port_when_run_again():
    run("seed_demo", "--port", "8000")
    before = Check.objects.count()
    output = run("seed_demo", "--port", "8123")
    assert Check.objects.count() == before
    assert "pointed at port 8123" in output
    targets = urls_and_ports()
    assert not [t for t in targets if "8000" in t or "8001" in t]
    assert "http://127.0.0.1:8123/health" in targets
    assert "http://127.0.0.1:8124/deliberately-slow" in targets
    assert "8123" in targets  # the TCP check's port


@pytest.mark.django_db
def test_seed_demo_reads_the_port_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8555")
    run("seed_demo")
    assert Check.objects.get(service__slug="checkout-api").config["url"] == (
        "http://127.0.0.1:8555/health"
    )


@pytest.mark.django_db
def test_seed_demo_after_sync_catalog_leaves_catalog_services_alone():
    run("sync_catalog", str(EXAMPLE))
    catalog_checks = {
        (c.service.slug, c.name): c.config for c in Check.objects.select_related("service")
    }
    run("seed_demo", "--port", "8123")
    run("seed_demo", "--port", "8200")
    after = {(c.service.slug, c.name): c.config for c in Check.objects.select_related("service")}
    # Catalog-owned services keep exactly their checks; no duplicates anywhere.
    for key, config in catalog_checks.items():
        assert after[key] == config
    by_service = {}
    for slug, name in after:
        by_service.setdefault(slug, []).append(name)
    assert all(len(names) == len(set(names)) for names in by_service.values())
    checkout_names = {name for slug, name in after if slug == "checkout-api"}
    assert checkout_names == {name for slug, name in catalog_checks if slug == "checkout-api"}


@pytest.mark.django_db
def test_seed_demo_checks_can_succeed_on_any_machine():
    run("seed_demo", "--port", "8000")
    for check in Check.objects.exclude(kind=Kind.HEARTBEAT):
        target = check.config.get("url") or check.config.get("host")
        assert "127.0.0.1" in target, check.name
        assert "/ready" not in target  # answers 503 until the worker reports in
    names = set(Check.objects.values_list("name", flat=True))
    assert {"deliberately slow endpoint", "deliberately failing endpoint"} <= names


@pytest.mark.django_db
def test_seed_demo_writes_ninety_days_of_history_and_a_healthy_state():
    run("seed_demo", "--port", "8000")
    checkout = Check.objects.get(service__slug="checkout-api")
    days = Rollup.objects.filter(check_ref=checkout, period=Rollup.Period.DAY)
    assert days.count() >= 90
    oldest = days.order_by("start").first().start
    assert oldest <= timezone.now() - timedelta(days=89)
    hours = Rollup.objects.filter(check_ref=checkout, period=Rollup.Period.HOUR)
    assert hours.filter(start__gte=timezone.now() - timedelta(hours=24)).count() >= 23
    assert all(hour.latency_count > 0 for hour in hours[:50])
    assert ServiceRollup.objects.filter(service=checkout.service).count() >= 90
    assert Result.objects.filter(check_ref=checkout).count() > 60
    checkout.refresh_from_db()
    assert checkout.state == State.UP
    slow = Check.objects.get(name="deliberately slow endpoint")
    assert slow.state == State.DEGRADED


@pytest.mark.django_db
def test_seed_demo_has_a_judged_deployment_and_a_resolved_public_incident():
    run("seed_demo", "--port", "8000")
    deployment = Deployment.objects.select_related("impact").get(service__slug="checkout-api")
    assert deployment.impact.verdict == Verdict.IMPROVED
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.is_published
    assert incident.resolved_at < timezone.now() - timedelta(days=1)


@pytest.mark.django_db
def test_seed_demo_services_are_healthy_except_the_deliberate_ones():
    run("seed_demo", "--port", "8000")
    statuses = {
        service.slug: service_status([check.state for check in service.checks.all()])
        for service in Service.objects.prefetch_related("checks")
    }
    healthy = {ServiceStatus.OPERATIONAL, ServiceStatus.DEGRADED}
    unhealthy = {slug for slug, status in statuses.items() if status not in healthy}
    # Only the service with the deliberately failing endpoint, once it has been probed.
    assert unhealthy <= {"search-indexer"}
    assert statuses["user-profile"] == ServiceStatus.DEGRADED  # the deliberately slow one
    assert statuses["checkout-api"] == ServiceStatus.OPERATIONAL


@pytest.mark.django_db
def test_seed_demo_grows_to_a_larger_catalog_with_healthy_checks():
    output = run("seed_demo", "--services", "1100", "--port", "8000")
    assert Service.objects.count() == 1100
    assert OwnerNote.objects.count() == 1100
    assert "services 1000/1100" in output
    assert Service.objects.filter(checks__isnull=True).count() == 0
    fillers = Check.objects.exclude(service__slug__in=[s.slug for s in DEMO_SERVICES])
    assert fillers.count() == 1100 - len(DEMO_SERVICES)
    urls = {config["url"] for config in fillers.values_list("config", flat=True)}
    # The demo target, not this app's own two web workers, answers the thousands.
    assert urls == {"http://127.0.0.1:8001/health"}
    assert set(fillers.values_list("interval_s", flat=True)) == {300}


@pytest.mark.django_db
def test_seed_demo_refuses_zero_services_and_a_bad_port():
    with pytest.raises(CommandError, match="at least 1"):
        run("seed_demo", "--services", "0")
    with pytest.raises(CommandError, match="not a port"):
        run("seed_demo", "--port", "70000")
    assert Service.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("hour, minute", [(1, 59), (2, 10), (2, 25), (12, 0)])
def test_the_demo_nightly_job_shows_a_finished_run_at_any_hour(service, hour, minute):
    """Between 02:00 and 02:25 UTC today's run would still be going: yesterday's counts."""
    now = datetime(2026, 12, 5, hour, minute, tzinfo=UTC)
    check = make_check(
        service, name="nightly run", kind=Kind.HEARTBEAT, config={}, interval_s=86400,
        cron="0 2 * * *", grace_s=1800, failures_before_down=1,
    )  # fmt: skip
    heartbeat_ping(check, now)
    check.refresh_from_db()
    assert check.state == State.UP
    assert now - timedelta(days=1) < check.last_ping_at <= now
