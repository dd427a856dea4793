"""The admin writes checks through checks.services, on the check's page and inline on the
service's: the same slot grid, status version bump and log line as the API's check_upsert."""

import logging
from datetime import UTC, datetime

import pytest

from checks.models import Check
from checks.scheduling import as_datetime, slot_after
from statuspage.core.status_version import status_version
from tests.catalog.worlds import HttpsClient, form_payload
from tests.checks.factories import make_check

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC)
ADD_URL = "/admin/checks/check/add/"


@pytest.fixture
def client(admin_user, time_machine):
    time_machine.move_to(T0, tick=False)
    client = HttpsClient()
    client.force_login(admin_user)
    return client


def change_url(check: Check) -> str:
    return f"/admin/checks/check/{check.pk}/change/"


def service_url(check: Check) -> str:
    return f"/admin/catalog/service/{check.service_id}/change/"


def next_slot(check: Check) -> datetime:
    """Where check_schedule_reset puts a check at T0: its first slot from now."""
    t = T0.timestamp() - 1
    return as_datetime(slot_after(check_id=check.pk, interval_s=check.interval_s, t=t))


def test_a_check_added_in_the_admin_is_put_on_its_slot_grid(
    client, service, django_capture_on_commit_callbacks
):
    payload = form_payload(
        client.get(ADD_URL),
        service=str(service.pk),
        name="health",
        kind="http",
        http_url="http://127.0.0.1:9/health",
        interval_s="120",
    )
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(ADD_URL, payload).status_code == 302
    check = Check.objects.get()
    assert check.next_due_at == next_slot(check)
    assert status_version() > before


def test_a_new_interval_moves_the_check_to_its_new_grid_and_a_new_name_does_not(client, service):
    check = make_check(service, interval_s=60)
    Check.objects.filter(pk=check.pk).update(next_due_at=T0)
    page = client.get(change_url(check))
    assert client.post(change_url(check), form_payload(page, name="renamed")).status_code == 302
    assert Check.objects.get(pk=check.pk).next_due_at == T0
    page = client.get(change_url(check))
    assert client.post(change_url(check), form_payload(page, interval_s="300")).status_code == 302
    check.refresh_from_db()
    assert (check.interval_s, check.next_due_at) == (300, next_slot(check))


def test_an_admin_save_logs_the_line_the_api_logs(client, service, caplog):
    check = make_check(service)
    caplog.set_level(logging.INFO, logger="checks.services")
    payload = form_payload(client.get(change_url(check)), timeout_s="5")
    assert client.post(change_url(check), payload).status_code == 302
    assert (
        f"event=check.updated check={check.pk} service=checkout-api reason='admin edit'"
        in caplog.messages
    )


def test_deleting_a_check_in_the_admin_bumps_the_version(
    client, service, django_capture_on_commit_callbacks
):
    check = make_check(service)
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/checks/check/{check.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Check.objects.exists()
    assert status_version() > before


def test_bulk_deleting_checks_in_the_admin_bumps_the_version_once(
    client, service, django_capture_on_commit_callbacks
):
    checks = [make_check(service, "one"), make_check(service, "two")]
    data = {
        "action": "delete_selected",
        "_selected_action": [check.pk for check in checks],
        "post": "yes",
    }
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post("/admin/checks/check/", data).status_code == 302
    assert not Check.objects.exists()
    assert status_version() > before
    assert len(callbacks) == 1


def test_a_check_added_inline_on_the_service_page_is_scheduled(client, service):
    first = make_check(service, "first")
    payload = form_payload(client.get(service_url(first)))
    for key, value in list(payload.items()):
        if key.startswith("checks-0-") and not key.endswith(("-id", "-DELETE")):
            payload["checks-1-" + key.removeprefix("checks-0-")] = value
    payload.update({"checks-1-name": "second", "checks-TOTAL_FORMS": "2"})
    assert client.post(service_url(first), payload).status_code == 302
    second = Check.objects.get(name="second")
    assert second.next_due_at == next_slot(second)
    assert Check.objects.get(pk=first.pk).next_due_at == next_slot(first)


def test_an_inline_interval_change_reschedules_and_an_inline_delete_bumps(
    client, service, django_capture_on_commit_callbacks
):
    keep, drop = make_check(service, "keep"), make_check(service, "drop")
    Check.objects.filter(pk=keep.pk).update(next_due_at=T0)
    payload = form_payload(client.get(service_url(keep)))
    index = {payload[f"checks-{i}-name"][0]: i for i in range(2)}
    payload[f"checks-{index['keep']}-interval_s"] = "300"
    payload[f"checks-{index['drop']}-DELETE"] = "on"
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(service_url(keep), payload).status_code == 302
    keep.refresh_from_db()
    assert (keep.interval_s, keep.next_due_at) == (300, next_slot(keep))
    assert not Check.objects.filter(pk=drop.pk).exists()
    assert status_version() > before
