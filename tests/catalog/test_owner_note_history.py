"""Owner-note history: who changed what and when, shown in the admin and revertible there."""

import datetime as dt
import logging

import pytest
import time_machine

from statuspage.catalog.models import OwnerNote, Service
from statuspage.catalog.services import OWNER_NOTE_FIELDS, owner_note_update
from tests.catalog.worlds import HttpsClient, form_payload
from tests.factories import make_service, make_user

MONDAY_8 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MONDAY_1130 = dt.datetime(2026, 3, 2, 11, 30, tzinfo=dt.UTC)
MONDAY_14 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client():
    return HttpsClient()


@pytest.fixture
def service(team):
    """The service and its first note version, created at 08:00 before the day's edits."""
    with time_machine.travel(MONDAY_8, tick=False):
        return make_service("checkout-api", team=team)


@pytest.fixture
def second_editor(team):
    user = make_user("eddie", role="Editors")
    team.members.add(user)
    return user


@pytest.fixture
def outside_editor(other_team):
    user = make_user("sam", role="Editors")
    other_team.members.add(user)
    return user


def service_url(service: Service) -> str:
    return f"/admin/catalog/service/{service.pk}/change/"


def history_url(note: OwnerNote, version_id: int | None = None) -> str:
    base = f"/admin/catalog/ownernote/{note.pk}/history/"
    return base if version_id is None else f"{base}{version_id}/"


def edit_in_admin(user, service: Service, at: dt.datetime, **fields: str) -> None:
    """``user`` opens the service page at ``at``, changes owner-note fields and saves."""
    with time_machine.travel(at, tick=False):
        client = HttpsClient()
        client.force_login(user)
        changes = {f"owner_note-0-{name}": value for name, value in fields.items()}
        payload = form_payload(client.get(service_url(service)), **changes)
        response = client.post(service_url(service), payload)
    assert response.status_code == 302, response.content[:2000]


@pytest.fixture
def edited_twice(service, editor, second_editor):
    """Erin changes the rollback note at 09:00, Eddie the expected result at 11:30."""
    edit_in_admin(editor, service, MONDAY_9, rollback_note="helm rollback checkout 41")
    edit_in_admin(
        second_editor,
        service,
        MONDAY_1130,
        expected_result="GET /health returns 200 in under 150 ms",
        runbook="## Restart\n\n1. Drain the queue\n2. `make restart`",
    )
    return OwnerNote.objects.get(service=service)


def versions(note: OwnerNote) -> list:
    return list(note.history.order_by("history_id"))


@pytest.mark.django_db
def test_two_edits_by_different_users_keep_who_when_and_what(edited_twice, editor, second_editor):
    created, first, second = versions(edited_twice)

    assert created.history_date == MONDAY_8
    assert (first.history_user, first.history_date) == (editor, MONDAY_9)
    assert (second.history_user, second.history_date) == (second_editor, MONDAY_1130)
    assert first.history_change_reason == second.history_change_reason == "admin edit"

    first_delta = first.diff_against(created, included_fields=list(OWNER_NOTE_FIELDS))
    assert first_delta.changed_fields == ["rollback_note"]
    (change,) = first_delta.changes
    assert (change.old, change.new) == ("Redeploy the previous tag", "helm rollback checkout 41")

    second_delta = second.diff_against(first, included_fields=list(OWNER_NOTE_FIELDS))
    assert sorted(second_delta.changed_fields) == ["expected_result", "runbook"]
    assert {c.field: c.new for c in second_delta.changes} == {
        "expected_result": "GET /health returns 200 in under 150 ms",
        "runbook": "## Restart\n\n1. Drain the queue\n2. `make restart`",
    }
    assert (edited_twice.updated_by, edited_twice.updated_at) == (second_editor, MONDAY_1130)


@pytest.mark.django_db
def test_admin_history_page_lists_every_edit_with_its_author(client, edited_twice, editor):
    client.force_login(editor)

    response = client.get(history_url(edited_twice))

    assert response.status_code == 200
    rows = list(response.context["page_obj"].object_list)
    assert [(row.history_user and row.history_user.username) for row in rows] == [
        "eddie",
        "erin",
        None,
    ]
    assert [row.history_change_reason for row in rows] == ["admin edit", "admin edit", None]
    page = response.content.decode()
    assert "eddie" in page
    assert "erin" in page
    assert f'href="{history_url(edited_twice, rows[-1].history_id)}"' in page


@pytest.mark.django_db
def test_service_page_links_to_the_note_history(client, edited_twice, editor, service):
    client.force_login(editor)
    response = client.get(service_url(service))
    assert f'href="{history_url(edited_twice)}"' in response.content.decode()


@pytest.mark.django_db
def test_reverting_to_the_first_version_restores_it_as_a_new_version(client, edited_twice, editor):
    created = versions(edited_twice)[0]
    url = history_url(edited_twice, created.history_id)
    client.force_login(editor)
    page = client.get(url)
    assert page.context["revert_disabled"] is False
    assert 'value="Revert"' in page.content.decode()

    with time_machine.travel(MONDAY_14, tick=False):
        response = client.post(url, form_payload(page))

    assert response.status_code == 302
    note = OwnerNote.objects.get(pk=edited_twice.pk)
    assert note.expected_result == "GET /health returns 200 with ok=true"
    assert note.rollback_note == "Redeploy the previous tag"
    assert note.runbook == ""
    assert note.updated_by == editor
    *_, revert = versions(note)
    assert len(versions(note)) == 4
    assert revert.history_user == editor
    assert revert.history_date == MONDAY_14
    assert revert.history_change_reason == f"revert to version {created.history_id}"
    delta = revert.diff_against(created, included_fields=list(OWNER_NOTE_FIELDS))
    assert delta.changed_fields == []


@pytest.mark.django_db
def test_catalog_admin_reverts_any_teams_note(client, edited_twice):
    cora = make_user("cora", role="Catalog admins")
    first_edit = versions(edited_twice)[1]
    url = history_url(edited_twice, first_edit.history_id)
    client.force_login(cora)

    response = client.post(url, form_payload(client.get(url)))

    assert response.status_code == 302
    note = OwnerNote.objects.get(pk=edited_twice.pk)
    assert note.expected_result == "GET /health returns 200 with ok=true"
    assert note.rollback_note == "helm rollback checkout 41"
    revert = note.history.latest()
    assert revert.history_user == cora
    assert revert.history_change_reason == f"revert to version {first_edit.history_id}"


@pytest.mark.django_db
def test_editor_of_another_team_cannot_revert(client, edited_twice, outside_editor):
    created = versions(edited_twice)[0]
    url = history_url(edited_twice, created.history_id)
    client.force_login(outside_editor)
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["revert_disabled"] is True
    assert 'value="Revert"' not in page.content.decode()

    response = client.post(url, form_payload(page))

    assert response.status_code == 403
    note = OwnerNote.objects.get(pk=edited_twice.pk)
    assert note.expected_result == "GET /health returns 200 in under 150 ms"
    assert note.rollback_note == "helm rollback checkout 41"
    assert len(versions(note)) == 3


@pytest.mark.django_db
def test_viewer_cannot_reach_the_history_pages(client, edited_twice, viewer):
    client.force_login(viewer)
    created = versions(edited_twice)[0]
    for url in (history_url(edited_twice), history_url(edited_twice, created.history_id)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert client.post(history_url(edited_twice, created.history_id)).status_code == 302
    assert len(versions(edited_twice)) == 3


MULTI_LINE = {
    "expected_result": "GET /health returns 200\nGET /ready returns 200",
    "rollback_note": "1. helm rollback checkout\n2. Tell #payments",
    "runbook": "# Restart\n\n    kubectl rollout restart deploy/checkout\n",
    "links": "Dashboard https://grafana.example.com/d/checkout\nLogs https://logs.example.com/",
}


@pytest.mark.django_db
def test_saving_unchanged_notes_writes_no_history_row(client, service, editor):
    owner_note_update(service=service, editor=None, values=MULTI_LINE, reason="catalog sync")
    client.force_login(editor)
    before = versions(service.owner_note)

    page = client.get(service_url(service))
    assert form_payload(page)["owner_note-0-rollback_note"] == [
        "1. helm rollback checkout\r\n2. Tell #payments"
    ]
    on_service_page = client.post(service_url(service), form_payload(page))
    note_url = f"/admin/catalog/ownernote/{service.owner_note.pk}/change/"
    on_note_page = client.post(note_url, form_payload(client.get(note_url)))

    assert on_service_page.status_code == on_note_page.status_code == 302
    assert versions(service.owner_note) == before
    note = OwnerNote.objects.get(service=service)
    assert {field: getattr(note, field) for field in OWNER_NOTE_FIELDS} == MULTI_LINE
    assert note.updated_by is None


@pytest.mark.django_db
def test_owner_note_update_with_the_same_text_changes_nothing(service, editor):
    values = {
        "expected_result": "GET /health returns 200 with ok=true",
        "rollback_note": "Redeploy the previous tag",
    }
    note, changed = owner_note_update(service=service, editor=editor, values=values, reason="x")
    assert changed == []
    assert note.history.count() == 1


RUNBOOK = (
    "    kubectl -n payments get pods -l app=checkout-api\n"
    "\n"
    "# Checkout API runbook\n"
    "\n"
    "1. Check the **p95** on the [dashboard](https://grafana.example.com/d/checkout)  \n"
    "2. Roll back:\n"
    "\n"
    "        kubectl rollout undo deploy/checkout-api\n"
    "\n"
    "```sh\n"
    "curl -s https://checkout.internal/health | jq .ok\n"
    "```\n"
    "\n"
    "> Never restart during settlement (<b>02:00-02:30 UTC</b>) & never <script>x()</script>\n"
)


@pytest.mark.django_db
def test_runbook_markdown_is_stored_as_typed(client, service, editor):
    client.force_login(editor)
    payload = form_payload(client.get(service_url(service)), **{"owner_note-0-runbook": RUNBOOK})

    response = client.post(service_url(service), payload)

    assert response.status_code == 302
    note = OwnerNote.objects.get(service=service)
    assert note.runbook == RUNBOOK
    assert note.history.latest().runbook == RUNBOOK


@pytest.mark.django_db
def test_runbook_round_trips_through_the_admin_form_unchanged(client, service, editor):
    owner_note_update(service=service, editor=editor, values={"runbook": RUNBOOK})
    client.force_login(editor)

    page = client.get(service_url(service))

    html = page.content.decode()
    assert "<script>x()</script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert form_payload(page)["owner_note-0-runbook"] == [RUNBOOK.replace("\n", "\r\n")]
    rows = OwnerNote.history.count()
    assert client.post(service_url(service), form_payload(page)).status_code == 302
    assert OwnerNote.history.count() == rows


@pytest.mark.django_db
def test_note_edits_are_logged_without_their_text(client, service, editor, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    edit_in_admin(editor, service, MONDAY_9, rollback_note="secret-rollback-token-123")

    lines = [r.getMessage() for r in caplog.records if r.name == "statuspage.security"]
    assert (
        f"event=owner_note.updated user_id={editor.pk} service=checkout-api fields=rollback_note"
        in (lines)
    )
    assert "secret-rollback-token-123" not in caplog.text
