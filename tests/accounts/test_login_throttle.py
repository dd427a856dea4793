"""Sign-in throttling per (username, client address) and the security log of sign-ins."""

import datetime as dt
import logging
import time
from dataclasses import dataclass

import pytest
import time_machine
from django.http import HttpResponse

from tests.catalog.worlds import HttpsClient
from tests.factories import PASSWORD, make_user

LOGIN_URL = "/accounts/login/"
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"
PROXY = "172.30.57.1"
WRONG = [f"wrong-guess-{n}" for n in range(1, 11)]
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def user(db):
    return make_user("erin")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class SignIn:
    response: HttpResponse
    user_id: str | None

    @property
    def status_code(self) -> int:
        return self.response.status_code


def sign_in(
    username: str, password: str, address: str, path: str = LOGIN_URL, **headers: str
) -> SignIn:
    """A fresh browser posting the sign-in form from ``address``."""
    client = HttpsClient()
    form = {"username": username, "password": password}
    response = client.post(path, form, REMOTE_ADDR=address, **headers)
    return SignIn(response=response, user_id=client.session.get("_auth_user_id"))


def via_proxy(username: str, password: str, client: str, sent: str = "") -> SignIn:
    """Sign-in through the proxy, which appends the client's address to what it sent."""
    forwarded = f"{sent}, {client}" if sent else client
    return sign_in(username, password, PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def fail(times: int, *, username: str = "erin", address: str = ATTACKER, **headers) -> None:
    for password in WRONG[:times]:
        attempt = sign_in(username, password, address, **headers)
        assert attempt.status_code == 200
        assert attempt.user_id is None


def security_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "statuspage.security"]


def test_the_failure_limit_is_five_by_default(settings):
    assert settings.LOGIN_FAILURE_LIMIT == 5
    assert settings.LOGIN_FAILURE_WINDOW_S == 15 * 60


@pytest.mark.django_db
def test_right_password_signs_in_below_the_failure_limit(user, settings):
    fail(settings.LOGIN_FAILURE_LIMIT - 1)

    response = sign_in("erin", PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert response.user_id == str(user.pk)


@pytest.mark.django_db
def test_right_password_is_refused_from_an_address_past_the_failure_limit(user, settings):
    fail(settings.LOGIN_FAILURE_LIMIT)

    response = sign_in("erin", PASSWORD, ATTACKER)

    assert response.status_code == 200
    assert response.user_id is None
    assert response.response.context["form"].non_field_errors()


@pytest.mark.django_db
def test_another_address_still_signs_in_while_one_is_locked(user, settings):
    fail(settings.LOGIN_FAILURE_LIMIT)

    response = sign_in("erin", PASSWORD, OFFICE)

    assert response.status_code == 302
    assert response.user_id == str(user.pk)
    assert sign_in("erin", PASSWORD, ATTACKER).user_id is None


@pytest.mark.django_db
def test_another_username_from_the_locked_address_still_signs_in(user, settings):
    make_user("eddie")
    fail(settings.LOGIN_FAILURE_LIMIT)

    assert sign_in("eddie", PASSWORD, ATTACKER).status_code == 302


@pytest.mark.django_db
def test_username_case_variants_share_one_failure_count(user, settings):
    fail(settings.LOGIN_FAILURE_LIMIT - 1, username="ERIN")
    fail(1, username="Erin")

    assert sign_in("erin", PASSWORD, ATTACKER).user_id is None


@pytest.mark.django_db
def test_successful_sign_in_clears_the_failure_count(user, settings):
    fail(settings.LOGIN_FAILURE_LIMIT - 1)
    assert sign_in("erin", PASSWORD, ATTACKER).status_code == 302

    fail(settings.LOGIN_FAILURE_LIMIT - 1)
    response = sign_in("erin", PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert response.user_id == str(user.pk)


@pytest.mark.django_db
def test_admin_sign_in_is_throttled_by_the_same_count(settings):
    admin = make_user("root-admin", superuser=True)
    fail(settings.LOGIN_FAILURE_LIMIT, username="root-admin")

    response = sign_in("root-admin", PASSWORD, ATTACKER, path="/admin/login/")

    assert response.status_code == 200
    assert response.user_id is None
    assert sign_in("root-admin", PASSWORD, OFFICE, path="/admin/login/").user_id == str(admin.pk)


@pytest.mark.django_db
def test_lock_holds_for_the_whole_window(user, settings):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        fail(settings.LOGIN_FAILURE_LIMIT)
        clock.shift(dt.timedelta(minutes=14))

        response = sign_in("erin", PASSWORD, ATTACKER)

    assert response.user_id is None


@pytest.mark.django_db
def test_lock_lifts_when_the_window_ends(user, settings):
    # Real time: the cache (Redis in `make test`) expires keys on its own clock.
    settings.LOGIN_FAILURE_WINDOW_S = 2
    fail(settings.LOGIN_FAILURE_LIMIT)
    assert sign_in("erin", PASSWORD, ATTACKER).user_id is None

    time.sleep(2.5)

    assert sign_in("erin", PASSWORD, ATTACKER).user_id == str(user.pk)


@pytest.mark.django_db
def test_security_log_records_each_step_without_any_password(user, settings, caplog):
    caplog.set_level(logging.INFO, logger="statuspage.security")
    fail(settings.LOGIN_FAILURE_LIMIT)
    sign_in("erin", PASSWORD, ATTACKER)
    sign_in("erin", PASSWORD, OFFICE)

    lines = security_lines(caplog)

    failed = [
        f"event=login.failed username=erin address={ATTACKER} failures={n}" for n in range(1, 6)
    ]
    assert lines[:5] == failed
    assert lines[5] == f"event=login.locked username=erin address={ATTACKER} by=user"
    assert lines[-1] == f"event=login.ok user_id={user.pk} address={OFFICE}"
    for password in [PASSWORD, *WRONG]:
        assert password not in caplog.text
    levels = {
        r.getMessage().split()[0]: r.levelname
        for r in caplog.records
        if r.name == "statuspage.security"
    }
    assert levels == {
        "event=login.failed": "WARNING",
        "event=login.locked": "WARNING",
        "event=login.ok": "INFO",
    }


def test_the_per_client_cap_is_thirty_by_default(settings):
    assert settings.LOGIN_CLIENT_FAILURE_LIMIT == 30


@pytest.mark.django_db
def test_a_client_past_its_cap_is_refused_for_every_username(user, settings):
    settings.LOGIN_CLIENT_FAILURE_LIMIT = 6
    make_user("eddie")
    for name in ("erin", "eddie", "nobody"):
        fail(2, username=name)

    assert sign_in("eddie", PASSWORD, ATTACKER).user_id is None
    assert sign_in("eddie", PASSWORD, OFFICE).status_code == 302


@pytest.mark.django_db
def test_signing_in_to_one_account_does_not_reset_the_client_cap(user, settings):
    settings.LOGIN_CLIENT_FAILURE_LIMIT = 4
    make_user("eddie")
    fail(3, username="eddie")
    assert sign_in("erin", PASSWORD, ATTACKER).status_code == 302
    fail(1, username="eddie")

    assert sign_in("erin", PASSWORD, ATTACKER).user_id is None


@pytest.mark.django_db
def test_behind_a_trusted_proxy_only_the_failing_client_is_locked_out(user, settings, caplog):
    settings.TRUSTED_PROXIES = [PROXY]
    caplog.set_level(logging.INFO, logger="statuspage.security")
    for password in WRONG[: settings.LOGIN_FAILURE_LIMIT]:
        assert via_proxy("erin", password, ATTACKER).user_id is None

    assert via_proxy("erin", PASSWORD, ATTACKER).user_id is None
    assert via_proxy("erin", PASSWORD, OFFICE).user_id == str(user.pk)
    assert f"event=login.locked username=erin address={ATTACKER} by=user" in security_lines(caplog)


@pytest.mark.django_db
def test_a_locked_client_cannot_escape_by_sending_a_forwarded_header(user, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    fail(settings.LOGIN_FAILURE_LIMIT, HTTP_X_FORWARDED_FOR=ATTACKER, address=PROXY)

    assert via_proxy("erin", PASSWORD, ATTACKER, sent=OFFICE).user_id is None
    # Straight to the app, not through the proxy: the header is not believed either.
    assert sign_in("erin", PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR=OFFICE).user_id is None


@pytest.mark.django_db
def test_sign_ins_are_still_throttled_while_the_cache_is_unreachable(user, settings):
    from statuspage.core import counters
    from tests.private_redis import unreachable_redis_cache

    counters.local_clear()
    down = unreachable_redis_cache()
    settings.CACHES = {"default": down, "counters": down}
    try:
        fail(settings.LOGIN_FAILURE_LIMIT)
        assert sign_in("erin", PASSWORD, ATTACKER).user_id is None
        assert sign_in("erin", PASSWORD, OFFICE).user_id == str(user.pk)
    finally:
        counters.local_clear()
