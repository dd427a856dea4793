"""Reading the environment for statuspage.settings: typed values and the derived blocks.

Every setting stays named and explained in statuspage/settings.py; this module holds only
the parsing (with an error naming the variable) and the longer computations the settings
call, so the settings module reads as one list of what is configured.
"""

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def _env_number[T: (int, float)](name: str, default: T, parse: type[T], what: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {what}") from None


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(*, debug: bool, var_dir: Path) -> str:
    """SECRET_KEY: mandatory and strong in production; in DEBUG a per-checkout random key
    kept under var/ (created on first use, readable by its owner only)."""
    key = os.environ.get("SECRET_KEY", "")
    if not key:
        if not debug:
            raise ImproperlyConfigured(
                "SECRET_KEY is not set. Production needs a long random value, e.g. "
                '`python -c "import secrets; print(secrets.token_urlsafe(50))"`. '
                "For local development set DEBUG=true instead."
            )
        key_file = var_dir / "dev-secret-key"
        if not key_file.exists():
            var_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
    if not debug and (len(key) < 50 or key.startswith("django-insecure")):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for production: use 50+ random characters"
        )
    return key


def networks(name: str) -> list[str]:
    """A list of addresses or CIDRs; a typo stops the process at start, naming the item."""
    items = env_list(name, "")
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an address or CIDR (e.g. 172.30.57.1)"
            ) from None
    return items


def private_targets(*, debug: bool) -> list[str]:
    """CHECK_PRIVATE_TARGETS, or the older CHECK_ALLOW_PRIVATE_TARGETS (true/false), or the
    default: loopback only in development and the embedded default."""
    if os.environ.get("CHECK_PRIVATE_TARGETS") is not None:
        return env_list("CHECK_PRIVATE_TARGETS", "")
    if os.environ.get("CHECK_ALLOW_PRIVATE_TARGETS"):
        return ["private", "loopback"] if env_bool("CHECK_ALLOW_PRIVATE_TARGETS", True) else []
    if debug or not os.environ.get("DATABASE_URL"):
        return ["private", "loopback"]
    return ["private"]


def database_from_url(url: str) -> dict:
    """The default database of DATABASE_URL (PostgreSQL or SQLite)."""
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported: use postgres:// or sqlite://"
        )
    database = dj_database_url.parse(url, conn_max_age=0)
    if database["ENGINE"] != "django.db.backends.postgresql":
        return database
    # Django's backend, made to fail fast while the server is unreachable
    # (statuspage/core/pgbackend/): requests answer 503 at once instead of each
    # waiting for the pool, and the process reconnects by itself once it is back.
    database["ENGINE"] = "statuspage.core.pgbackend"
    options = database.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 2))
    # psycopg 3's pool: reusing connections multiplies the throughput of connecting per
    # request. It requires CONN_MAX_AGE = 0 (the pool owns connection lifetime).
    if env_bool("DATABASE_POOL", True):
        options["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", 10),
            # Short: a request waiting longer for a connection only ties up a worker.
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 0.5),
        }
    # JIT compilation costs far more than it saves on short aggregate queries (rollups)
    # and buys nothing for this workload's small, index-driven statements.
    options.setdefault("options", "-c jit=off")
    database["TEST"] = {"NAME": os.environ.get("DATABASE_TEST_NAME") or None}
    return database


def database_embedded(var_dir: Path) -> dict:
    """The embedded default's SQLite database under var/."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": var_dir / "statuspage.sqlite3",
        "OPTIONS": {
            # WAL lets the web, worker and scheduler read while one of them writes;
            # IMMEDIATE transactions take the write lock up front instead of failing
            # with "database is locked" when a read turns into a write.
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=10000"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # Tests run on a file as well, not Django's shared in-memory database: there a
        # second connection's write fails at once ("database table is locked") instead of
        # waiting its turn as it does on the file.
        "TEST": {"NAME": var_dir / "test.sqlite3"},
    }


def redis_caches(url: str, *, counters_timeout_s: float) -> dict:
    """The default cache and the counters' cache on one Redis, both with short timeouts."""
    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL must start with redis:// or rediss://: {url}")
    default = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "sp"),
        # A dead Redis must cost a request little: short timeouts, and callers that
        # can do without the cache log and carry on.
        "OPTIONS": {
            "socket_connect_timeout": env_float("REDIS_TIMEOUT_S", 0.5),
            "socket_timeout": env_float("REDIS_TIMEOUT_S", 0.5),
        },
    }
    counters = {
        **default,
        "OPTIONS": {
            "socket_connect_timeout": counters_timeout_s,
            "socket_timeout": counters_timeout_s,
        },
    }
    return {"default": default, "counters": counters}


def broker_transport_options(
    url: str, *, broker_dir: Path, visibility_timeout: int, task_time_limit: int
) -> dict:
    """Transport options of the Celery broker at ``url``, checked against the task limit."""
    scheme = urlsplit(url).scheme
    if scheme in {"filesystem", "safefs"}:
        # kombu's server-less transport: in and out folders must be the same folder so that
        # separate processes on one host see each other's messages.
        for folder in ("queue", "control", "processed"):
            (broker_dir / folder).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "control_folder": str(broker_dir / "control"),
            "processed_folder": str(broker_dir / "processed"),
            "store_processed": False,
        }
    if scheme in {"redis", "rediss"}:
        if visibility_timeout < 2 * task_time_limit:
            raise ImproperlyConfigured(
                "CELERY_VISIBILITY_TIMEOUT must be at least twice CELERY_TASK_TIME_LIMIT, "
                "or running tasks are redelivered to a second worker"
            )
        return {"visibility_timeout": visibility_timeout}
    if scheme in {"amqp", "amqps", "pyamqp"}:
        return {}
    raise ImproperlyConfigured(f"Unknown Celery broker {url!r}: use redis://, amqp:// or safefs://")


def mailers(mail_dir: Path, *, debug: bool) -> dict:
    """SMTP from EMAIL_* when EMAIL_HOST is set; in DEBUG without it, a folder of message
    files; otherwise the local mail server (Django's own default)."""
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    if not os.environ.get("EMAIL_HOST"):
        if debug:
            return {
                "default": {
                    "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                    "OPTIONS": {"file_path": str(mail_dir)},
                }
            }
        return {"default": {"BACKEND": smtp, "OPTIONS": {"host": "localhost", "port": 25}}}
    options = {
        "host": os.environ["EMAIL_HOST"],
        "port": env_int("EMAIL_PORT", 587),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
    return {"default": {"BACKEND": smtp, "OPTIONS": options}}


def longer_than(name: str, default: float, *, other: str, other_value: float) -> float:
    """A duration that must exceed another one (its reason is in the settings)."""
    value = env_float(name, default)
    if value <= other_value:
        raise ImproperlyConfigured(f"{name} must be longer than {other} ({other_value:g}s)")
    return value


def periodic(task: str, every_s: float, *, expires_s: float | None = None) -> dict:
    """A beat entry: ``task`` every ``every_s`` seconds. A run still queued after
    ``expires_s`` (default two periods) is dropped: the next one does the same work."""
    return {
        "task": task,
        "schedule": every_s,
        "options": {"expires": every_s * 2 if expires_s is None else expires_s},
    }
