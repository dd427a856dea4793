"""The SECURITY block of statuspage/settings.py: its production values and their effect.

Production values are read in a fresh interpreter with a clean environment, so nothing the
test run sets (DEBUG, SECURE_SSL_REDIRECT, ...) can hide an insecure default.
"""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.catalog.worlds import HttpsClient
from tests.core.worlds import PRODUCTION_ENV, STRONG_KEY, settings_in_fresh_process
from tests.factories import PASSWORD, make_user


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- Values of the SECURITY block ------------------------------------------------------

SECURITY_NAMES = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "DATA_UPLOAD_MAX_NUMBER_FIELDS",
    "LOGIN_FAILURE_LIMIT",
    "AUTHENTICATION_BACKENDS",
    "MIDDLEWARE",
    "ALLOWED_HOSTS",
]


def test_production_values_are_the_secure_defaults(run_python):
    values = settings_in_fresh_process(run_python, SECURITY_NAMES, **PRODUCTION_ENV)

    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 1024 * 1024
    assert values["DATA_UPLOAD_MAX_NUMBER_FIELDS"] == 2000
    assert values["LOGIN_FAILURE_LIMIT"] == 5
    assert values["AUTHENTICATION_BACKENDS"] == [
        "statuspage.accounts.throttle.ThrottledModelBackend"
    ]
    assert values["ALLOWED_HOSTS"] == ["status.example.com"]
    middleware = values["MIDDLEWARE"]
    assert middleware[0] == "django.middleware.security.SecurityMiddleware"
    for name in (
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ):
        assert name in middleware


def test_only_debug_relaxes_the_transport_settings(run_python):
    values = settings_in_fresh_process(run_python, SECURITY_NAMES, DEBUG="true")

    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_HTTPONLY"] is True


def test_csp_setting_forbids_framing_plugins_and_foreign_scripts():
    csp = django_settings.SECURE_CSP
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'", "<CSP_NONCE_SENTINEL>"]
    assert "'unsafe-inline'" not in [value for values in csp.values() for value in values]


# --- System checks and refusing to start -----------------------------------------------


def test_check_deploy_passes_with_production_settings(run_python):
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_rejects_a_wildcard_allowed_host(run_python):
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": "*"}
    result = run_python("manage.py", "check", "--deploy", **env)
    assert result.returncode != 0
    assert "statuspage.E001" in result.stderr


def test_check_deploy_flags_a_long_key_with_few_distinct_characters(run_python):
    env = {**PRODUCTION_ENV, "SECRET_KEY": "ab" * 30}
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_settings_refuse_to_load_without_a_secret_key_in_production(run_python):
    result = run_python("-c", "import django; django.setup()", ALLOWED_HOSTS="status.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    "weak_key",
    [
        "changeme",
        "0123456789012345678901234567890123456789012345678",
        "django-insecure-" + "x7Kp2Qr9Lm4Vt8Wz3Nb6Hc1Jd5Fg0Sa" * 2,
    ],
    ids=["short", "49-characters", "django-insecure-prefix"],
)
def test_settings_refuse_a_weak_secret_key_in_production(run_python, weak_key):
    result = run_python("-c", "import django; django.setup()", SECRET_KEY=weak_key)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak" in result.stderr
    assert weak_key not in result.stderr


def test_strong_key_is_long_enough_for_the_rule_it_proves():
    assert len(STRONG_KEY) >= 50
    assert len(set(STRONG_KEY)) >= 5


# --- What a real response carries --------------------------------------------------------


@pytest.mark.django_db
def test_response_carries_hsts_nosniff_referrer_and_frame_headers():
    response = HttpsClient().get("/accounts/login/")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_csp_header_forbids_framing_and_allows_scripts_by_nonce():
    response = HttpsClient().get("/admin/login/")

    assert response.status_code == 200
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    self_src, nonce_src = csp["script-src"]
    assert self_src == "'self'"
    nonce = re.fullmatch(r"'nonce-([A-Za-z0-9_-]{16,})'", nonce_src).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()


@pytest.mark.django_db
def test_each_response_gets_its_own_nonce():
    first = HttpsClient().get("/admin/login/")["Content-Security-Policy"]
    second = HttpsClient().get("/admin/login/")["Content-Security-Policy"]
    assert first != second


@pytest.mark.django_db
def test_health_answers_with_the_same_frame_and_csp_headers():
    response = Client().get("/health")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_sign_in_sets_secure_http_only_cookies():
    make_user("erin")
    client = HttpsClient()
    page = client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "erin", "password": PASSWORD})

    assert response.status_code == 302
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] is True
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) == 12 * 3600


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_but_probes_are_not(settings):
    settings.SECURE_SSL_REDIRECT = True  # the production value, proven above
    client = Client()

    home = client.get("/")
    assert home.status_code == 301
    assert home["Location"] == "https://testserver/"
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code in {200, 503}


# --- Request limits ----------------------------------------------------------------------


@pytest.mark.django_db
def test_request_body_over_the_memory_limit_gets_400_not_500():
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = "username=erin&password=" + "x" * limit

    response = HttpsClient().post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_request_body_over_the_limit_gets_400_with_csrf_checks_on():
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    client = HttpsClient(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    body = "username=erin&csrfmiddlewaretoken=x&password=" + "x" * limit

    response = client.post(
        "/accounts/login/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Referer": "https://testserver/accounts/login/"},
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_request_with_too_many_fields_gets_400():
    too_many = django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    body = "&".join(f"f{n}=1" for n in range(too_many))

    response = HttpsClient().post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400


# --- Who reaches what without signing in ---------------------------------------------


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_sign_in_from_home_and_admin():
    client = HttpsClient()

    home = client.get("/")
    admin = client.get("/admin/")

    assert home.status_code == 302
    assert home["Location"] == "/accounts/login/?next=/"
    assert admin.status_code == 302
    assert admin["Location"] == "/admin/login/?next=/admin/"


@pytest.mark.django_db
def test_anonymous_user_reaches_health_ready_and_the_sign_in_page():
    client = HttpsClient()
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code in {200, 503}
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/admin/login/").status_code == 200
