"""The admin writes services through the catalog services: a save or a revert there has the
effects the same change has from sync_catalog (history, status version)."""

import pytest

from statuspage.catalog.models import Deployment, Service
from statuspage.core.status_version import status_version
from statuspage.web import public_cache
from tests.catalog.worlds import HttpsClient, form_payload
from tests.checks.factories import make_check
from tests.factories import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(admin_user):
    client = HttpsClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def public_service(team):
    service = make_service("ledger", team=team, is_public=True, public_name="Ledger")
    make_check(service)
    return service


def change_url(service: Service) -> str:
    return f"/admin/catalog/service/{service.pk}/change/"


def test_a_service_made_private_in_the_admin_leaves_the_cached_public_page(
    client, public_service, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(public_cache, "VERSION_TTL_S", 0)
    assert "Ledger" in client.get("/status/").content.decode()
    payload = form_payload(client.get(change_url(public_service)))
    payload.pop("is_public")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(public_service), payload)
    assert response.status_code == 302
    assert Service.objects.get(pk=public_service.pk).is_public is False
    assert "Ledger" not in client.get("/status/").content.decode()


def test_a_service_saved_in_the_admin_bumps_the_version_only_after_commit(
    client, service, django_capture_on_commit_callbacks
):
    before = status_version()
    payload = form_payload(client.get(change_url(service)), name="Checkout")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(change_url(service), payload).status_code == 302
        assert status_version() == before
    for callback in callbacks:
        callback()
    assert status_version() > before


def test_a_service_reverted_from_its_history_goes_through_the_service(
    client, admin_user, service, django_capture_on_commit_callbacks
):
    payload = form_payload(client.get(change_url(service)), name="Renamed")
    assert client.post(change_url(service), payload).status_code == 302
    first = service.history.order_by("history_id").first()
    url = f"/admin/catalog/service/{service.pk}/history/{first.history_id}/"
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, form_payload(client.get(url))).status_code == 302
    assert Service.objects.get(pk=service.pk).name == "Checkout Api"
    assert service.history.latest("history_id").history_user == admin_user
    assert status_version() > before


def test_a_service_with_an_invalid_slug_is_a_form_error_not_a_save(client, service):
    payload = form_payload(client.get(change_url(service)), slug="not a slug!")
    response = client.post(change_url(service), payload)
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Service.objects.get(pk=service.pk).slug == "checkout-api"


def test_a_deployment_corrected_in_the_admin_is_validated_and_saved(client, service):
    deployment = Deployment.objects.create(service=service, version="1.0", deployed_by="ci")
    url = f"/admin/catalog/deployment/{deployment.pk}/change/"
    payload = form_payload(client.get(url), version="1.0.1")
    assert client.post(url, payload).status_code == 302
    assert Deployment.objects.get(pk=deployment.pk).version == "1.0.1"
