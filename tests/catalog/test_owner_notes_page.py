"""The owner-notes page of the admin: the four note fields of one service, saved through
owner_note_update (history, permissions), plus readable titles and history rows."""

import datetime as dt

import pytest
import time_machine

from statuspage.catalog.models import OwnerNote, Service
from tests.catalog.worlds import HttpsClient
from tests.factories import make_service, make_user

MONDAY_8 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client():
    return HttpsClient()


@pytest.fixture
def service(team):
    with time_machine.travel(MONDAY_8, tick=False):
        return make_service("checkout-api", team=team, name="Checkout API")


def notes_url(service: Service) -> str:
    return f"/admin/catalog/service/{service.pk}/notes/"


def payload(note: OwnerNote, **changes: str) -> dict:
    values = {
        "expected_result": note.expected_result,
        "rollback_note": note.rollback_note,
        "runbook": note.runbook,
        "links": note.links,
    }
    return {**values, **changes}


def test_the_page_shows_the_note_fields_and_nothing_of_the_service_form(client, editor, service):
    client.force_login(editor)
    response = client.get(notes_url(service))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("expected_result", "rollback_note", "runbook", "links"):
        assert f'name="{name}"' in html
    for name in ("slug", "tier", "is_public", "component_group", "public_name"):
        assert f'name="{name}"' not in html
    assert "<title>Owner notes: Checkout API" in html
    assert "Owner notes of" not in html


def test_saving_writes_the_note_with_its_editor_and_goes_back_to_the_service_page(
    client, editor, service
):
    note = OwnerNote.objects.get(service=service)
    client.force_login(editor)
    with time_machine.travel(MONDAY_9, tick=False):
        response = client.post(
            notes_url(service),
            payload(note, rollback_note="helm rollback checkout 41\r\nthen purge the CDN"),
        )
    assert response.status_code == 302
    assert response["Location"] == f"/services/{service.slug}/"
    note.refresh_from_db()
    assert note.rollback_note == "helm rollback checkout 41\nthen purge the CDN"
    assert (note.updated_by, note.updated_at) == (editor, MONDAY_9)
    latest = note.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (editor, "admin edit")


def test_an_unchanged_save_writes_no_history(client, editor, service):
    note = OwnerNote.objects.get(service=service)
    before = note.history.count()
    client.force_login(editor)
    assert client.post(notes_url(service), payload(note)).status_code == 302
    assert note.history.count() == before


def test_a_bad_link_is_a_form_error_and_nothing_is_saved(client, editor, service):
    note = OwnerNote.objects.get(service=service)
    client.force_login(editor)
    response = client.post(
        notes_url(service), payload(note, links="Logs javascript:alert(1)", rollback_note="x")
    )
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    note.refresh_from_db()
    assert note.rollback_note != "x"


def test_an_editor_of_another_team_is_refused(client, other_team, service):
    outsider = make_user("sam", role="Editors")
    other_team.members.add(outsider)
    note = OwnerNote.objects.get(service=service)
    client.force_login(outsider)
    assert client.get(notes_url(service)).status_code == 403
    assert client.post(notes_url(service), payload(note, rollback_note="x")).status_code == 403
    note.refresh_from_db()
    assert note.rollback_note != "x"


def test_a_viewer_is_refused_and_an_unknown_service_is_a_404(client, viewer, editor, service):
    client.force_login(viewer)
    assert client.get(notes_url(service)).status_code in (302, 403)
    client.force_login(editor)
    assert client.get("/admin/catalog/service/999999/notes/").status_code in (302, 404)


def test_a_next_url_on_another_site_is_not_followed(client, editor, service):
    note = OwnerNote.objects.get(service=service)
    client.force_login(editor)
    response = client.post(
        notes_url(service), {**payload(note, runbook="x"), "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/services/{service.slug}/"


def test_the_service_form_titles_its_inline_owner_notes(client, admin_user, service):
    client.force_login(admin_user)
    html = client.get(f"/admin/catalog/service/{service.pk}/change/").content.decode()
    assert '<h2 id="owner_note-heading" class="inline-heading">' in html
    heading = html.split('id="owner_note-heading" class="inline-heading">')[1].split("</h2>")[0]
    assert heading.strip() == "Owner notes"
    assert "Owner notes of" not in html
    assert 'Owner notes:</b> <span class="inline_label">Checkout API' in html


def test_the_history_names_the_editor_and_never_a_deleted_user(client, editor, service):
    note = OwnerNote.objects.get(service=service)
    client.force_login(editor)
    client.post(notes_url(service), payload(note, rollback_note="helm rollback"))
    html = client.get(f"/admin/catalog/ownernote/{note.pk}/history/").content.decode()
    assert "Deleted user" not in html
    assert "pk=None" not in html
    assert "<strong>Updated by:</strong>\n                    nobody" in html
    assert f"&nbsp;&rarr;&nbsp;&nbsp;{editor.username}" in html
    assert "Edit history of the owner notes: Checkout API" in html
    assert 'style="' not in html
