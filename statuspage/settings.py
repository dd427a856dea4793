"""Settings for the status dashboard, read from the environment.

With no environment set (the embedded default) the app uses SQLite in WAL mode, a file
based cache and a Celery transport that needs no server, all under ``var/``.
``DATABASE_URL`` switches to PostgreSQL (psycopg 3, pooled) and ``REDIS_URL`` to Redis as
Celery broker and Django cache. Every variable is listed in the README with its default.

Secure values are the defaults. Only ``DEBUG=true`` (local development, ``make run``)
relaxes them; production refuses to start without a real ``SECRET_KEY``. A checkout that
``make run`` has marked defaults to DEBUG while no SECRET_KEY or DATABASE_URL is set.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.utils.csp import CSP
from kombu import Queue

from statuspage.core.env import (
    broker_transport_options,
    database_embedded,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    longer_than,
    mailers,
    networks,
    periodic,
    private_targets,
    redis_caches,
    secret_key,
)
from statuspage.core.localrun import local_checkout
from statuspage.core.metrics_files import ENV_NAME as METRICS_DIR_ENV
from statuspage.core.metrics_files import metrics_dir

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STATUSPAGE_VAR_DIR") or BASE_DIR / "var")

# DEBUG is off unless asked for, or in a checkout `make run` has marked (and then only
# while SECRET_KEY and DATABASE_URL are unset): see statuspage/core/localrun.py.
DEBUG = env_bool("DEBUG", local_checkout(VAR_DIR, os.environ))

# ---------------------------------------------------------------------------
# SECURITY: every security-relevant setting lives in this block, each with its reason.
# tests/core/test_security_settings.py checks them, and `manage.py check --deploy
# --fail-level WARNING` runs clean with production values.
# ---------------------------------------------------------------------------

# A real secret is mandatory in production: sessions, password resets and signed
# snapshots depend on it. In DEBUG a per-checkout random key is kept under var/.
SECRET_KEY = secret_key(debug=DEBUG, var_dir=VAR_DIR)

# Host header validation stops cache poisoning and password-reset link spoofing.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto header (only if set).
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# HTTPS everywhere in production; probes of /health and /ready stay on plain HTTP
# because container health checks talk to the process directly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Status pages are looked at for hours during incidents: a working-day session.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)

# Browsers must not sniff types, leak full URLs to other sites, or frame our pages.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy from Django's own middleware: scripts only from us (or with the
# per-request nonce), nothing framed, no plugins. Cached public pages carry no nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Request-size limits: notes and API payloads are small; anything larger is refused.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Passwords: Django's validators with a length that matches current guidance.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs). Empty: the TCP
# peer is the client. Without this, behind a proxy every client shares the proxy's address
# and one client's failures lock everybody out (see statuspage/core/client.py).
TRUSTED_PROXIES = networks("TRUSTED_PROXIES")
# Login throttling: this many failures per username+client within the window lock that
# pair out for the window; a client past its own cap (any usernames) is locked out too.
# No count is kept per username alone, so nobody can lock a user out from everywhere
# (see statuspage/accounts/throttle.py).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_CLIENT_FAILURE_LIMIT = env_int("LOGIN_CLIENT_FAILURE_LIMIT", 30)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 15 * 60)

# Check targets: link-local and cloud metadata addresses are always refused (they hand
# out credentials). Other non-public addresses need this allowlist: the words `private`
# and `loopback` and CIDRs. Private ranges are allowed by default because internal
# services are what teams monitor; loopback reaches the dashboard's own host (its Redis,
# its database), so only development and the embedded default list it. An empty value
# refuses every non-public address. The older CHECK_ALLOW_PRIVATE_TARGETS (true/false) is
# read as `private,loopback` or nothing when this one is not set.
CHECK_PRIVATE_TARGETS = private_targets(debug=DEBUG)
# Heartbeat pings: requests per minute per check, a generous cap per client address (many
# jobs often ping from one host or NAT), and body size.
PING_RATE_PER_MINUTE = env_int("PING_RATE_PER_MINUTE", 120)
PING_CLIENT_RATE_PER_MINUTE = env_int("PING_CLIENT_RATE_PER_MINUTE", 3000)
# Web processes add their ping counts to Redis at most this often (seconds), in one call;
# 0: on every ping (statuspage/core/counters.py).
PING_RATE_SHARE_S = env_float("PING_RATE_SHARE_S", 0.2)
PING_BODY_LIMIT_BYTES = 10_000
# On PostgreSQL a ping is stored by the request and applied to its check by a drain task
# this often (checks/ping_intake.py).
PING_DRAIN_S = env_float("PING_DRAIN_S", 1.0)
# true: a ping is answered only once its row is on disk (one WAL flush per ping, which
# caps the intake of each sync web worker). false: once PostgreSQL committed it; only a
# crash of PostgreSQL itself within a fraction of a second could lose it (see README).
PING_SYNCHRONOUS_COMMIT = env_bool("PING_SYNCHRONOUS_COMMIT", False)
# Secret check settings (header values, URL passwords) are encrypted at rest. The first key
# encrypts, every key decrypts, so a key is rotated by putting a new one first and running
# `manage.py check_secrets_reseal`. Unset: one key derived from SECRET_KEY.
CHECK_SECRET_KEYS = env_list("CHECK_SECRET_KEYS", "") or [SECRET_KEY]
# /metrics names every check and service: served only to a bearer token or to client
# addresses in the allowlist (CIDRs). Neither set: a 404, except to loopback in DEBUG.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOW = networks("METRICS_ALLOW")

# ---------------------------------------------------------------------------
# End of the SECURITY block.
# ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "statuspage.core",
    "statuspage.accounts",
    "statuspage.catalog",
    "checks",
    "statuspage.incidents",
    "statuspage.alerts",
    "statuspage.web",
    "statuspage.api",
    "ninja",
    # The demo installation of `make run`: above every other app, no models.
    "statuspage.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL characters and malformed headers: a 400 before any view or form sees them.
    "statuspage.core.middleware.HostileInputMiddleware",
    # The database unreachable: 503 with Retry-After, at once, instead of a 500.
    "statuspage.core.middleware.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Shows times in the signed-in user's own time zone (User.time_zone).
    "statuspage.web.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]
# Heartbeat pings (/ping/...) run through MIDDLEWARE less these (statuspage/wsgi.py): they
# serve pages, sessions and signed-in users, which no ping view reads. Everything else
# (security headers, hostile input, the database outage 503, ALLOWED_HOSTS through
# CommonMiddleware) applies to pings as to any request, including middleware added later.
PING_MIDDLEWARE_SKIPPED = [
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the ping views are csrf_exempt
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "statuspage.web.middleware.UserTimeZoneMiddleware",  # pings store UTC times
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # names the user of admin edits
]

ROOT_URLCONF = "statuspage.urls"
WSGI_APPLICATION = "statuspage.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# PostgreSQL fails fast while unreachable and pools its connections; SQLite runs in WAL mode
# (statuspage/core/env.py says why for each option).
DATABASES = {
    "default": database_from_url(DATABASE_URL) if DATABASE_URL else database_embedded(VAR_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# After a failed connect, connects fail at once for this long before the next attempt.
DATABASE_RETRY_S = env_float("DATABASE_RETRY_S", 2.0)

# --- Cache and broker ---------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Longest hard time limit of any task (seconds); no task may set a longer one. The Redis
# visibility timeout is derived from it: long enough that a running task is never handed
# to a second worker, short enough that a batch of a killed worker comes back in minutes.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 240)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 2 * CELERY_TASK_TIME_LIMIT + 60)

if REDIS_URL:
    # Rate and sign-in counters (statuspage/core/counters.py): the same Redis with shorter
    # timeouts, so an unreachable Redis costs a request little before the in-process
    # fallback counts instead.
    COUNTERS_REDIS_TIMEOUT_S = float(os.environ.get("COUNTERS_REDIS_TIMEOUT_S", "0.25"))
    CACHES = redis_caches(REDIS_URL, counters_timeout_s=COUNTERS_REDIS_TIMEOUT_S)
    CELERY_BROKER_URL = CELERY_BROKER_URL or REDIS_URL
else:
    # Embedded default: every process (web, worker, beat) shares these folders.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    # kombu's filesystem transport, with atomic writes (statuspage/core/fsbroker.py).
    CELERY_BROKER_URL = CELERY_BROKER_URL or "safefs://"

BROKER_DIR = VAR_DIR / "broker"
broker_scheme = urlsplit(CELERY_BROKER_URL).scheme
# The server-less transport's shared folders, or the Redis visibility timeout (refused when
# shorter than twice the task time limit); see statuspage/core/env.py.
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL,
    broker_dir=BROKER_DIR,
    visibility_timeout=CELERY_VISIBILITY_TIMEOUT,
    task_time_limit=CELERY_TASK_TIME_LIMIT,
)
if broker_scheme == "redis":
    # kombu's Redis transport, made to survive a Redis restart under a busy worker.
    CELERY_BROKER_TRANSPORT = "statuspage.core.redisbroker:Transport"

# How old the worker and scheduler heartbeats may be before /ready fails.
READY_HEARTBEAT_MAX_AGE_S = env_int("READY_HEARTBEAT_MAX_AGE_S", 60)
HEARTBEAT_INTERVAL_S = env_int("HEARTBEAT_INTERVAL_S", 10)
# Bearer token that shows /ready's details (backends, errors) to a monitor; staff see them
# too. Anonymous callers get only which parts fail.
READY_TOKEN = os.environ.get("READY_TOKEN", "")

# Prometheus multiprocess folder: every process of this host writes its counters there
# (statuspage/core/metrics_files.py). prometheus_client reads the variable itself.
METRICS_DIR = metrics_dir(os.environ)
os.environ[METRICS_DIR_ENV] = str(METRICS_DIR)
# Seconds a process may serve the per-check block of /metrics again while the status
# version is unchanged (latencies at most that old); 0 reads every check on every scrape.
METRICS_CACHE_S = env_float("METRICS_CACHE_S", 2.0)

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve static files from the finders when nothing was collected (tests, make run).
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS", False)

# --- Logging: one line per event, key=value pairs, to stderr -------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler would print every request error a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        # Apprise logs the URLs it posts to, tokens included, below WARNING.
        "apprise": {"level": "WARNING"},
        # The server-less transport has no host name; kombu warns about that on every
        # connection, which says nothing useful.
        "kombu.connection": {
            "level": "ERROR" if broker_scheme in {"filesystem", "safefs"} else LOG_LEVEL
        },
    },
}

# --- Check engine -----------------------------------------------------------------------
# How often beat claims the due checks (statuspage.core.beat runs the tick itself).
DISPATCH_TICK_S = float(os.environ.get("DISPATCH_TICK_S", "1"))
# Checks are claimed this far ahead of their slot, and their probes wait at the worker for
# it, so a probe starts at its slot rather than up to a tick later. It covers one tick plus
# the claim and the trip through the broker; it must stay below the shortest interval.
DISPATCH_LEAD_S = env_float("DISPATCH_LEAD_S", DISPATCH_TICK_S + 1)
# A probe queue holding more batches than this (no worker of its location takes them, or
# they fell far behind) gets no more until it drains: its slots become gaps, and Redis does
# not fill up while a location's workers are away.
DISPATCH_MAX_QUEUED_BATCHES = env_int("DISPATCH_MAX_QUEUED_BATCHES", 1000)
# Checks per probe task, and probes in flight per worker process. Each batch costs a task,
# a transaction and a few statements whatever its size: at 100,000 checks a minute batches
# of 500 took 0.54 ms of CPU a check where batches of 200 took 0.62. A batch whose targets
# all time out takes PROBE_BATCH_SIZE / PROBE_CONCURRENCY timeouts (2 by default) before
# the next one starts.
PROBE_BATCH_SIZE = env_int("PROBE_BATCH_SIZE", 500)
PROBE_CONCURRENCY = env_int("PROBE_CONCURRENCY", 250)
# A batch that starts later than this after its slot records the slot as skipped (a gap)
# instead of measuring now and filing it under the old slot.
PROBE_MAX_LATENESS_S = env_int("PROBE_MAX_LATENESS_S", 120)
# Where probes run from, one Celery queue each (checks.locations); the first is the default
# location, where a check that names none runs. CHECK_QUORUM: how many of a check's
# locations must see it down for it to be down (0: a majority of them).
CHECK_LOCATIONS = env_list("CHECK_LOCATIONS", "default")
CHECK_QUORUM = env_int("CHECK_QUORUM", 0)
# How often slots that never ran at all are recorded as gaps.
GAP_SWEEP_S = env_int("GAP_SWEEP_S", 60)
# Raw results are kept this many days (on PostgreSQL up to a day more: whole day partitions
# are dropped), rollups ROLLUP_RETENTION_DAYS; day partitions of results are created this
# many days ahead (checks.partitions).
RESULT_RETENTION_DAYS = env_int("RESULT_RETENTION_DAYS", 30)
RESULT_PARTITIONS_AHEAD_DAYS = env_int("RESULT_PARTITIONS_AHEAD_DAYS", 7)
ROLLUP_RETENTION_DAYS = max(400, env_int("ROLLUP_RETENTION_DAYS", 400))
# The sweep reads only heartbeat checks past their stored deadline (an index), so it can
# run often; every HEARTBEAT_DEADLINES_S all deadlines are recomputed (edited periods).
HEARTBEAT_SWEEP_S = env_float("HEARTBEAT_SWEEP_S", 1.0)
HEARTBEAT_DEADLINES_S = env_float("HEARTBEAT_DEADLINES_S", 60.0)
# A deployment is judged once this long has passed after it, against as long before it.
DEPLOY_VERDICT_WINDOW_S = env_int("DEPLOY_VERDICT_WINDOW_S", 1800)

# --- Notifications (statuspage/alerts) -------------------------------------------------
# Messages to one channel within this window go out as one grouped message; the first
# is never held longer. 0 sends every notification on its own.
ALERTS_GROUP_WINDOW_S = env_float("ALERTS_GROUP_WINDOW_S", 2.0)
# Attempts per message before it becomes a dead letter; retries back off exponentially
# from the base, with jitter, up to the cap (a receiver's Retry-After wins).
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 6)
ALERTS_RETRY_BASE_S = env_float("ALERTS_RETRY_BASE_S", 2.0)
ALERTS_RETRY_MAX_S = env_float("ALERTS_RETRY_MAX_S", 600.0)
ALERTS_HTTP_TIMEOUT_S = env_float("ALERTS_HTTP_TIMEOUT_S", 10.0)
# A message marked "sending" by a worker that then died is sent again (same key) once
# this lease ends; it outlasts the delivery task's hard time limit, and must outlast the
# HTTP timeout, or a send still waiting for its answer would be sent a second time.
ALERTS_SENDING_LEASE_S = longer_than(
    "ALERTS_SENDING_LEASE_S",
    180.0,
    other="ALERTS_HTTP_TIMEOUT_S",
    other_value=ALERTS_HTTP_TIMEOUT_S,
)
ALERTS_SEND_CONCURRENCY = env_int("ALERTS_SEND_CONCURRENCY", 100)
ALERTS_SWEEP_S = env_float("ALERTS_SWEEP_S", 10.0)
ALERTS_SWEEP_GRACE_S = env_float("ALERTS_SWEEP_GRACE_S", 10.0)
# A check changing state this many times within this many minutes sends one "flapping"
# message, then nothing until it has kept one state that long.
ALERTS_FLAP_TRANSITIONS = env_int("ALERTS_FLAP_TRANSITIONS", 5)
ALERTS_FLAP_MINUTES = env_int("ALERTS_FLAP_MINUTES", 10)
# An outage nobody acknowledged goes to the team's escalation channels after this long
# (0: never). Reminders are set per channel.
ALERTS_ESCALATE_AFTER_S = env_int("ALERTS_ESCALATE_AFTER_S", 1800)
# Acknowledge links in messages stop working after this long.
ALERTS_ACK_LINK_MAX_AGE_S = env_int("ALERTS_ACK_LINK_MAX_AGE_S", 86400)
# Links in messages start here; empty: the host of STATUS_PAGE_URL, else PORT locally.
ALERTS_SITE_URL = os.environ.get("ALERTS_SITE_URL", "")
# How often reminders, escalations, settled flaps, incidents and maintenance are looked for.
ALERTS_REMIND_S = env_float("ALERTS_REMIND_S", 15.0)
# Mail: SMTP when EMAIL_HOST is set (EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT). Without it, DEBUG (make run) writes each
# message as a file under var/mail and logs the folder; production uses the local mail
# server, as Django does by default.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "statuspage@localhost")
MAILERS = mailers(VAR_DIR / "mail", debug=DEBUG)

# --- Public status page ---------------------------------------------------------------
STATUS_PAGE = {
    "name": os.environ.get("STATUS_PAGE_NAME", "Status"),
    # Empty: derived from each request (feeds, summary.json, incident links), or from
    # PORT where no request is at hand. Set it in production: it is what clients keep.
    "url": os.environ.get("STATUS_PAGE_URL", ""),
    "logo_url": os.environ.get("STATUS_PAGE_LOGO_URL", ""),
    "support_url": os.environ.get("STATUS_PAGE_SUPPORT_URL", ""),
    # "Label|https://..." pairs separated by commas, shown in the page footer.
    "links": env_list("STATUS_PAGE_LINKS", ""),
    "time_zone": os.environ.get("STATUS_PAGE_TIME_ZONE", "Etc/UTC"),
}
# Port of `make run`'s web server (its demo target listens on the next one).
PORT = env_int("PORT", 8000)
# The last good public page and summary.json, kept on disk so they can be served while
# the database is unreachable.
STATUS_SNAPSHOT_DIR = Path(os.environ.get("STATUS_SNAPSHOT_DIR") or VAR_DIR / "snapshots")

# --- Periodic tasks (Celery beat) -----------------------------------------------------
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # A heartbeat queued while no worker ran is worthless later: drop it.
    "worker-heartbeat": periodic(
        "core.heartbeat", HEARTBEAT_INTERVAL_S, expires_s=HEARTBEAT_INTERVAL_S * 3
    ),
    # Each tick claims the due checks and queues probe batches. Beat runs it in its own
    # process instead of queueing it (statuspage.core.beat.INLINE_TASKS).
    "dispatch-due": periodic(
        "checks.dispatch_due", DISPATCH_TICK_S, expires_s=max(5.0, DISPATCH_TICK_S * 5)
    ),
    "heartbeat-sweep": periodic("checks.sweep_heartbeats", HEARTBEAT_SWEEP_S),
    "heartbeat-deadlines": periodic("checks.refresh_heartbeat_deadlines", HEARTBEAT_DEADLINES_S),
    # Pings stored by requests wait for this (PostgreSQL only: SQLite applies them at once).
    **(
        {"ping-drain": periodic("checks.drain_pings", PING_DRAIN_S)}
        if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
        else {}
    ),
    "rollups": periodic("checks.rollup_recent", 60.0),
    "deployment-verdicts": periodic("checks.deployment_verdicts", 60.0),
    "maintenance-tick": periodic("incidents.maintenance_tick", 30.0),
    "record-gaps": periodic("checks.record_gaps", GAP_SWEEP_S),
    # Every expiry stays below the visibility timeout (tests/core/test_celery_limits.py).
    # Notifications whose queued task was lost, retries that are due, and messages whose
    # sender died mid-send (statuspage.alerts.delivery.channels_due).
    "alerts-sweep": periodic("alerts.sweep", ALERTS_SWEEP_S),
    # Public subscribers' mail: retries that are due, and mail whose sender died.
    "alerts-subscriber-mails": periodic("alerts.subscriber_mails_sweep", ALERTS_SWEEP_S),
    "alerts-remind": periodic("alerts.remind", ALERTS_REMIND_S),
    "prune-results": periodic("checks.prune_results", 3600.0, expires_s=300),
    "result-partitions": periodic("checks.partitions_maintain", 3600.0, expires_s=300),
}
# Probe batches have their own queue so probe-only workers can be added with `-Q probes`;
# a worker started without -Q consumes both queues. "probes" serves the default location;
# every other location has its own queue, probes.<name>, consumed by workers started there
# with `-Q probes.<name>` (checks.locations.location_queue).
CELERY_TASK_QUEUES = (Queue("celery"), Queue("probes"))
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Beat runs the dispatch ticks itself; one sent by hand (dispatch_due.delay()) goes with the
# probes it feeds rather than behind a long housekeeping task on the default queue.
CELERY_TASK_ROUTES = {
    "checks.probe_batch": {"queue": "probes"},
    "checks.dispatch_due": {"queue": "probes"},
}

AUTHENTICATION_BACKENDS = ["statuspage.accounts.throttle.ThrottledModelBackend"]
