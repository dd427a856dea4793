from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from checks.models import Check, Kind
from statuspage.catalog.demo import DEMO_SERVICES, DEMO_TEAMS
from statuspage.catalog.models import OwnerNote, Service, Team


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
    assert f"{len(DEMO_TEAMS)} teams, {len(DEMO_SERVICES)} services and 7 checks" in output


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
def test_seed_demo_checks_watch_this_apps_own_endpoints():
    run("seed_demo", "--base-url", "http://127.0.0.1:8123")
    health = Check.objects.get(service__slug="checkout-api")
    assert health.config == {"url": "http://127.0.0.1:8123/health", "conditions": ["ok == true"]}
    assert Check.objects.get(service__slug="search-indexer").config["port"] == 8123
    kinds = set(Check.objects.values_list("kind", flat=True))
    assert kinds == {Kind.HTTP, Kind.TCP, Kind.HEARTBEAT}


@pytest.mark.django_db
def test_seed_demo_gives_filler_services_a_health_check():
    run("seed_demo", "--services", "20")
    assert Check.objects.filter(name="health", kind=Kind.HTTP).count() >= 13
    assert Service.objects.filter(checks__isnull=True).count() == 0


@pytest.mark.django_db
def test_seed_demo_refuses_a_bad_base_url():
    with pytest.raises(CommandError, match="must be an http"):
        run("seed_demo", "--base-url", "127.0.0.1:8000")
