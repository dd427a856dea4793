"""API tokens: shown once, stored hashed, scoped, revocable, last use kept; and their admin."""

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from statuspage.accounts.models import User
from statuspage.api.models import ApiToken, Scope
from statuspage.api.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from tests.catalog.worlds import HttpsClient
from tests.factories import make_user, token_owner

TOKEN = re.compile(r"sp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ADD_URL = "/admin/api/apitoken/"


@pytest.fixture
def issued(team, admin_user) -> tuple[ApiToken, str]:
    return api_token_create(
        team=team, name="CI deploy step", scopes=[Scope.DEPLOYMENTS_WRITE], created_by=admin_user
    )


def security_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "statuspage.security"]


# --- Creating ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_returns_the_plaintext_once_and_stores_only_its_hash(team, admin_user):
    token, plaintext = api_token_create(
        team=team, name="CI", scopes=[Scope.READ, Scope.DEPLOYMENTS_WRITE], created_by=admin_user
    )
    assert TOKEN.fullmatch(plaintext)
    stored = ApiToken.objects.get()
    assert stored.prefix == plaintext.split("_")[1]
    assert stored.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    secret = plaintext.split("_", 2)[2]
    assert all(secret not in str(value) for value in ApiToken.objects.values().get().values())
    assert stored.scopes == ["deployments:write", "read"]
    assert (stored.team, stored.created_by) == (team, admin_user)
    assert stored.last_used_at is None and stored.revoked_at is None
    assert not hasattr(token, "plaintext")


@pytest.mark.django_db
def test_every_token_is_different(team):
    plaintexts = {
        api_token_create(team=team, name=f"t{i}", scopes=[Scope.READ], created_by=token_owner())[1]
        for i in range(5)
    }
    assert len(plaintexts) == 5
    assert ApiToken.objects.values("prefix").distinct().count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "write"]])
def test_create_refuses_missing_or_unknown_scopes(team, scopes):
    with pytest.raises(ValidationError):
        api_token_create(team=team, name="CI", scopes=scopes, created_by=token_owner())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_creation_is_logged_without_the_secret(team, admin_user, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    token, plaintext = api_token_create(
        team=team, name="CI", scopes=[Scope.READ], created_by=admin_user
    )
    messages = security_messages(caplog)
    assert messages == [
        f"event=api_token.created token={token.prefix} team=payments scopes=read "
        f"user_id={admin_user.pk}"
    ]
    assert plaintext.split("_", 2)[2] not in messages[0]


# --- Authenticating ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_plaintext_authenticates_its_token(issued):
    token, plaintext = issued
    assert api_token_authenticate(plaintext) == token


@pytest.mark.django_db
def test_a_wrong_secret_with_a_real_prefix_is_refused(issued, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    token, plaintext = issued
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    assert api_token_authenticate(forged, origin="10.0.0.7") is None
    assert security_messages(caplog) == [
        f"event=api_token.rejected reason=unknown token={token.prefix} origin=10.0.0.7"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", ["", "sp_", "sp_zzzzzzzz_" + "a" * 43, "Bearer sp_x", "x" * 5000, "sp_0123abcd_short"]
)
def test_malformed_tokens_are_refused_and_never_logged(db, raw, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    assert api_token_authenticate(raw) is None
    assert security_messages(caplog) == ["event=api_token.rejected reason=malformed origin=-"]


@pytest.mark.django_db
def test_a_revoked_token_no_longer_authenticates(issued, admin_user, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    token, plaintext = issued
    assert api_token_revoke(token=token, by=admin_user) is True
    assert api_token_authenticate(plaintext) is None
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    assert security_messages(caplog) == [
        f"event=api_token.revoked token={token.prefix} team_id={token.team_id} "
        f"user_id={admin_user.pk}",
        f"event=api_token.rejected reason=revoked token={token.prefix} team=payments origin=-",
    ]


@pytest.mark.django_db
def test_revoking_twice_changes_nothing_the_second_time(issued, admin_user, editor):
    token, _ = issued
    assert api_token_revoke(token=token, by=admin_user) is True
    first = ApiToken.objects.get().revoked_at
    assert api_token_revoke(token=ApiToken.objects.get(), by=editor) is False
    stored = ApiToken.objects.get()
    assert (stored.revoked_at, stored.revoked_by) == (first, admin_user)


@pytest.mark.django_db
def test_a_revoked_token_gets_401_from_the_api(issued, admin_user, service):
    token, plaintext = issued
    api_token_revoke(token=token, by=admin_user)
    response = HttpsClient().post(
        "/api/v1/deployments",
        {"service": service.slug, "version": "1.0", "actor": "ci"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid, unknown or revoked token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert not service.deployments.exists()


def deploy(plaintext: str, service) -> int:
    return (
        HttpsClient()
        .post(
            "/api/v1/deployments",
            {"service": service.slug, "version": "1.0", "actor": "ci"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {plaintext}",
        )
        .status_code
    )


@pytest.mark.django_db
@pytest.mark.parametrize("owner", [None, "unsaved", "inactive"])
def test_a_token_needs_an_active_owner(team, owner):
    user = {"unsaved": User(username="ghost"), "inactive": make_user("gone", role=None)}.get(owner)
    if owner == "inactive":
        user.is_active = False
        user.save()
    with pytest.raises(ValidationError, match="owner"):
        api_token_create(team=team, name="CI", scopes=[Scope.READ], created_by=user)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_deactivated_owners_token_no_longer_writes_deployments(team, service, caplog):
    owner = token_owner("release-bot")
    token, plaintext = api_token_create(
        team=team, name="CI", scopes=[Scope.DEPLOYMENTS_WRITE], created_by=owner
    )
    assert deploy(plaintext, service) == 201
    owner.is_active = False
    owner.save()
    caplog.set_level(logging.INFO, logger="statuspage.security")
    caplog.clear()
    assert deploy(plaintext, service) == 401
    assert service.deployments.count() == 1
    assert security_messages(caplog) == [
        f"event=api_token.rejected reason=owner_inactive token={token.prefix} team=payments "
        "origin=127.0.0.1"
    ]


@pytest.mark.django_db
def test_a_deleted_owners_token_no_longer_writes_deployments(team, service):
    owner = token_owner("release-bot")
    _, plaintext = api_token_create(
        team=team, name="CI", scopes=[Scope.DEPLOYMENTS_WRITE], created_by=owner
    )
    owner.delete()
    assert ApiToken.objects.get().created_by is None
    assert deploy(plaintext, service) == 401
    assert not service.deployments.exists()


@pytest.mark.django_db
def test_last_use_is_kept_to_the_minute(issued, django_assert_num_queries):
    _, plaintext = issued
    with time_machine.travel(NOW, tick=False):
        api_token_authenticate(plaintext)
    assert ApiToken.objects.get().last_used_at == NOW
    # Within the minute: the lookup only, no write.
    with time_machine.travel(NOW + timedelta(seconds=59), tick=False), django_assert_num_queries(1):
        api_token_authenticate(plaintext)
    assert ApiToken.objects.get().last_used_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        used = api_token_authenticate(plaintext)
    assert used.last_used_at == NOW + timedelta(seconds=61)
    assert ApiToken.objects.get().last_used_at == NOW + timedelta(seconds=61)


@pytest.mark.django_db
def test_use_is_logged_with_the_prefix_only(issued, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    token, plaintext = issued
    api_token_authenticate(plaintext, origin="10.0.0.7")
    assert security_messages(caplog) == [
        f"event=api_token.used token={token.prefix} team=payments origin=10.0.0.7"
    ]


# --- The admin --------------------------------------------------------------------------------


def admin_client(user) -> HttpsClient:
    client = HttpsClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_creates_a_token_and_shows_the_plaintext_once(admin_user, team):
    client = admin_client(admin_user)
    assert client.get(f"{ADD_URL}add/").status_code == 200

    response = client.post(
        f"{ADD_URL}add/",
        {"team": team.pk, "name": "CI deploy step", "scopes": ["deployments:write"]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    shown = TOKEN.findall(page)
    assert len(set(shown)) == 1
    plaintext = shown[0]
    token = ApiToken.objects.get()
    assert api_token_authenticate(plaintext) == token
    assert (token.name, token.scopes, token.created_by) == (
        "CI deploy step",
        ["deployments:write"],
        admin_user,
    )
    assert "shown this once" in page
    assert "/api/v1/deployments" in page

    secret = plaintext.split("_", 2)[2]
    for url in (ADD_URL, f"{ADD_URL}{token.pk}/change/"):
        later = client.get(url)
        assert later.status_code == 200
        text = later.content.decode()
        assert secret not in text
        assert token.secret_hash not in text
        assert f"sp_{token.prefix}_" in text
    assert secret not in str(dict(client.session))
    assert secret not in str(client.cookies)


@pytest.mark.django_db
def test_admin_add_form_requires_a_scope(admin_user, team):
    response = admin_client(admin_user).post(
        f"{ADD_URL}add/", {"team": team.pk, "name": "CI", "scopes": []}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_admin_revokes_selected_tokens(admin_user, issued):
    token, plaintext = issued
    client = admin_client(admin_user)
    response = client.post(
        ADD_URL, {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Revoked 1 token(s)." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    assert api_token_authenticate(plaintext) is None


@pytest.mark.django_db
def test_tokens_are_neither_edited_nor_deleted_in_the_admin(admin_user, issued):
    token, _ = issued
    client = admin_client(admin_user)
    change = client.post(f"{ADD_URL}{token.pk}/change/", {"name": "renamed"})
    assert change.status_code == 403
    assert client.get(f"{ADD_URL}{token.pk}/delete/").status_code == 403
    assert ApiToken.objects.get().name == "CI deploy step"


@pytest.mark.django_db
def test_catalog_admins_manage_tokens(team):
    catalog_admin = make_user("cat", role="Catalog admins")
    client = admin_client(catalog_admin)
    assert client.get(ADD_URL).status_code == 200
    response = client.post(f"{ADD_URL}add/", {"team": team.pk, "name": "CI", "scopes": ["read"]})
    assert response.status_code == 200
    assert ApiToken.objects.get().created_by == catalog_admin


@pytest.mark.django_db
def test_editors_and_viewers_cannot_see_or_create_tokens(editor, issued, team):
    token, _ = issued
    staff_viewer = make_user("staff-viewer", staff=True)
    for user in (editor, staff_viewer):
        client = admin_client(user)
        assert client.get(ADD_URL).status_code == 403
        assert client.get(f"{ADD_URL}{token.pk}/change/").status_code == 403
        add = client.post(f"{ADD_URL}add/", {"team": team.pk, "name": "x", "scopes": ["read"]})
        assert add.status_code == 403
        revoke = client.post(ADD_URL, {"action": "revoke_tokens", "_selected_action": [token.pk]})
        assert revoke.status_code == 403
        assert "API tokens" not in client.get("/admin/").content.decode()
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().revoked_at is None


@pytest.mark.django_db
def test_token_use_through_a_trusted_proxy_logs_the_client_address(
    issued, service, settings, caplog
):
    settings.TRUSTED_PROXIES = ["172.30.57.1"]
    caplog.set_level(logging.INFO, logger="statuspage.security")
    token, plaintext = issued
    HttpsClient().post(
        "/api/v1/deployments",
        {"service": service.slug, "version": "1.0", "actor": "ci"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
        REMOTE_ADDR="172.30.57.1",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7",
    )
    assert f"event=api_token.used token={token.prefix} team=payments origin=203.0.113.7" in (
        security_messages(caplog)
    )
