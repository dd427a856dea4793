"""/metrics: what it shows after real results and pings, and who may read it."""

import gzip
import os
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from django.test import override_settings
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from checks.models import Check, Kind, Outcome
from checks.runner import probe_batch_run
from checks.scheduling import Claim
from checks.services import Observation, results_record
from statuspage.alerts.models import Delivery, DeliveryState
from statuspage.core import metrics as core_metrics
from statuspage.core.metrics import accepts_gzip
from statuspage.core.metrics_files import host_name, metrics_dir_prepare
from tests.alerts.eventkit import at, down, make_channel, quick_check
from tests.checks.factories import make_check
from tests.gunicorn_server import gunicorn
from tests.private_redis import private_redis
from tests.reverse_proxy import call

T0 = 1_796_000_000  # a fixed epoch second (2026-11-29)
TOKEN = "scrape-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_scrapes(settings, monkeypatch):
    """Every scrape reads the checks afresh unless a test asks for the per-process copy,
    and no copy outlives its test: inside a test's transaction no version bump commits."""
    settings.METRICS_CACHE_S = 0
    monkeypatch.setattr(core_metrics, "_blocks", {})


def samples(body: bytes) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, **headers):
    return client.get("/metrics", **headers)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def labels(check, **more) -> tuple:
    base = {"check_id": str(check.pk), "check": check.name, "service": "checkout-api"}
    return tuple(sorted({**base, "kind": check.kind, **more}.items()))


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_shows_state_up_and_latency_of_each_check_after_real_results(client, service):
    web = make_check(service, "web", failures_before_down=1)
    api = make_check(service, "api", failures_before_down=1)
    results_record(
        observations=[
            Observation(web.pk, T0, T0 + 0.2, Outcome.UP, latency_ms=42.0),
            Observation(api.pk, T0, T0 + 0.2, Outcome.DOWN, latency_ms=None, detail="HTTP 500"),
        ]
    )
    response = scrape(client, **bearer())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content)
    assert found[("statuspage_check_up", labels(web))] == 1
    assert found[("statuspage_check_up", labels(api))] == 0
    assert found[("statuspage_check_latency_seconds", labels(web))] == pytest.approx(0.042)
    assert ("statuspage_check_latency_seconds", labels(api)) not in found
    assert found[("statuspage_check_state", labels(web, state="up"))] == 1
    assert found[("statuspage_check_state", labels(api, state="down"))] == 1
    assert ("statuspage_check_state", labels(api, state="up")) not in found


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_a_probe_batch_observes_its_schedule_lag(client, service):
    # Port 9 (discard) refuses at once: the probe runs and fails without waiting.
    check = make_check(service, "web", config={"url": "http://127.0.0.1:9/health"})
    before = samples(scrape(client, **bearer()).content)
    slot = int(time.time()) - 1
    probe_batch_run(claims=[Claim(check.pk, slot)])
    after = samples(scrape(client, **bearer()).content)
    count = ("statuspage_schedule_lag_seconds_count", ())
    total = ("statuspage_schedule_lag_seconds_sum", ())
    assert after[count] - before.get(count, 0) == 1
    assert 1 <= after[total] - before.get(total, 0) < 60


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_counts_pings_by_kind_and_answer(client, service):
    job = make_check(service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600)
    before = samples(scrape(client, **bearer()).content)
    for path in (f"/ping/{job.ping_uuid}", f"/ping/{job.ping_uuid}", f"/ping/{job.ping_uuid}/fail"):
        assert client.get(path).status_code == 200
    unknown = "/ping/00000000-0000-0000-0000-000000000000"
    assert client.get(unknown).status_code == 404
    after = samples(scrape(client, **bearer()).content)

    def grew(kind: str, code: str) -> float:
        key = ("statuspage_pings_total", (("code", code), ("kind", kind)))
        return after[key] - before.get(key, 0)

    assert grew("success", "200") == 3 - 1  # two successes; the third ping was a fail
    assert grew("fail", "200") == 1
    assert grew("success", "404") == 1


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_shows_queue_depth_of_each_queue_and_the_broker_answering(client):
    found = samples(scrape(client, **bearer()).content)
    assert found[("statuspage_broker_up", ())] == 1
    queues = {dict(key[1])["queue"] for key in found if key[0] == "statuspage_queue_depth"}
    assert queues == {"celery", "probes"}


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL="redis://127.0.0.1:9/0")
def test_an_unreachable_broker_is_reported_not_a_server_error(client):
    response = scrape(client, **bearer())
    assert response.status_code == 200
    found = samples(response.content)
    assert found[("statuspage_broker_up", ())] == 0
    assert not any(name == "statuspage_queue_depth" for name, _ in found)


@pytest.mark.redis
@pytest.mark.django_db
def test_queue_depth_counts_waiting_messages_and_survives_a_broker_restart(client, tmp_path):
    with private_redis(tmp_path / "redis") as broker:
        with Connection(broker.url) as producer:
            queue = producer.SimpleQueue("probes")
            for n in range(3):
                queue.put({"batch": n})
            queue.close()
        with override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL=broker.url):
            waiting = samples(scrape(client, **bearer()).content)
            broker.stop()
            away = samples(scrape(client, **bearer()).content)
            broker.start()
            back = samples(scrape(client, **bearer()).content)
    assert waiting[("statuspage_queue_depth", (("queue", "probes"),))] == 3
    assert waiting[("statuspage_queue_depth", (("queue", "celery"),))] == 0
    assert away[("statuspage_broker_up", ())] == 0
    assert back[("statuspage_broker_up", ())] == 1
    # The restarted server kept nothing (no persistence): the depth says so.
    assert back[("statuspage_queue_depth", (("queue", "probes"),))] == 0


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOW=[])
def test_token_protects_the_page(client):
    missing = scrape(client)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client, **bearer("wrong")).status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert scrape(client, **bearer()).status_code == 200


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="", METRICS_ALLOW=["10.0.0.0/8"])
def test_allowlist_admits_only_its_addresses(client):
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 403


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="", METRICS_ALLOW=["10.0.0.0/8"], TRUSTED_PROXIES=["192.0.2.1"])
def test_allowlist_reads_the_client_through_trusted_proxies_only(client):
    proxied = {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert scrape(client, **proxied).status_code == 200
    forged = {"REMOTE_ADDR": "192.0.2.9", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert scrape(client, **forged).status_code == 403


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOW=["10.0.0.0/8"])
def test_either_the_token_or_an_allowed_address_is_enough(client):
    assert scrape(client, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7", **bearer()).status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 401


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="", METRICS_ALLOW=[], DEBUG=False)
def test_without_protection_configured_the_page_does_not_exist_in_production(client):
    assert scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 404


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="", METRICS_ALLOW=[], DEBUG=True)
def test_local_mode_opens_it_to_loopback_only(client):
    assert scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 404


def test_start_removes_only_files_of_exited_processes(tmp_path):
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    host = host_name()
    dead = tmp_path / f"counter_{host}-{exited.stdout.strip()}.db"
    live = tmp_path / f"counter_{host}-{os.getpid()}.db"
    elsewhere = tmp_path / f"counter_other-host-{exited.stdout.strip()}.db"
    for path in (dead, live, elsewhere):
        path.write_bytes(b"")
    assert metrics_dir_prepare(tmp_path) == [dead.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, elsewhere.name])


OBSERVE = """
import django, sys
django.setup()
from statuspage.core.metrics import schedule_lag_observe
schedule_lag_observe(float(v) for v in sys.argv[1:])
"""


@pytest.mark.postgres
@pytest.mark.redis
def test_one_scrape_adds_up_gunicorn_workers_and_probe_processes(transactional_db, tmp_path):
    """Lag observed by two separate processes and pings counted by two gunicorn workers
    show up summed in one scrape, whichever worker answers it."""
    folder = tmp_path / "metrics"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "METRICS_TOKEN": TOKEN}
    with gunicorn(tmp_path / "web", workers=2, **env) as server:
        for lags in (["0.03", "0.7"], ["3"]):
            subprocess.run([sys.executable, "-c", OBSERVE, *lags], cwd=ROOT, check=True,
                           env={**os.environ, **env})  # fmt: skip
        unknown = "/ping/00000000-0000-0000-0000-000000000000"
        for _ in range(20):
            assert call(server.port, "GET", unknown).status == 404
        auth = {"Authorization": f"Bearer {TOKEN}"}
        bodies = [call(server.port, "GET", "/metrics", headers=auth) for _ in range(4)]
    assert {reply.status for reply in bodies} == {200}
    for reply in bodies:
        found = samples(reply.body)
        assert found[("statuspage_schedule_lag_seconds_count", ())] == 3
        assert found[("statuspage_schedule_lag_seconds_sum", ())] == pytest.approx(3.73)
        assert found[("statuspage_schedule_lag_seconds_bucket", (("le", "1.0"),))] == 2
        key = ("statuspage_pings_total", (("code", "404"), ("kind", "success")))
        assert found[key] == 20
    writers = {path.name.rsplit("_", 1)[1] for path in folder.glob("*.db")}
    assert len(writers) >= 3  # the two observing processes and at least one web worker


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_shows_the_outbox_backlog_and_dead_letters(client, team, service):
    channel = make_channel(team)
    down(quick_check(service), at(0))
    Delivery.objects.create(channel=channel, state=DeliveryState.DEAD, attempts=5)
    Delivery.objects.create(channel=channel, state=DeliveryState.RETRYING, attempts=1)
    found = samples(scrape(client, **bearer()).content)
    assert found[("statuspage_outbox_backlog", (("stage", "notification"),))] == 1
    assert found[("statuspage_outbox_backlog", (("stage", "retrying"),))] == 1
    assert found[("statuspage_outbox_backlog", (("stage", "queued"),))] == 0
    assert found[("statuspage_outbox_dead_letters", ())] == 1


def observe(check, outcome, latency_ms, at_s):
    results_record(observations=[Observation(check.pk, at_s, at_s + 0.1, outcome, latency_ms)])


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, METRICS_CACHE_S=60)
def test_a_state_change_shows_at_once_though_the_check_block_is_kept(
    client, service, django_capture_on_commit_callbacks
):
    web = make_check(service, "web", failures_before_down=1)
    with django_capture_on_commit_callbacks(execute=True):
        observe(web, Outcome.UP, 42.0, T0)
    first = samples(scrape(client, **bearer()).content)
    with django_capture_on_commit_callbacks(execute=True):
        observe(web, Outcome.DOWN, None, T0 + 60)
    after = samples(scrape(client, **bearer()).content)
    assert first[("statuspage_check_up", labels(web))] == 1
    assert after[("statuspage_check_up", labels(web))] == 0
    assert after[("statuspage_check_state", labels(web, state="down"))] == 1


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, METRICS_CACHE_S=60)
def test_without_a_state_change_the_kept_block_answers_until_it_expires(client, service, settings):
    web = make_check(service, "web")
    Check.objects.filter(pk=web.pk).update(last_latency_ms=40.0)
    first = samples(scrape(client, **bearer()).content)
    Check.objects.filter(pk=web.pk).update(last_latency_ms=90.0)  # no version bump
    kept = samples(scrape(client, **bearer()).content)
    settings.METRICS_CACHE_S = 0
    fresh = samples(scrape(client, **bearer()).content)
    key = ("statuspage_check_latency_seconds", labels(web))
    assert (first[key], kept[key], fresh[key]) == (0.04, 0.04, 0.09)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_with_the_cache_server_away_every_scrape_reads_the_checks(client, service, settings):
    web = make_check(service, "web")
    settings.METRICS_TOKEN, settings.METRICS_CACHE_S = TOKEN, 60
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    Check.objects.filter(pk=web.pk).update(last_latency_ms=40.0)
    first = scrape(client, **bearer())
    Check.objects.filter(pk=web.pk).update(last_latency_ms=90.0)
    second = scrape(client, **bearer())
    key = ("statuspage_check_latency_seconds", labels(web))
    assert (first.status_code, second.status_code) == (200, 200)
    assert samples(first.content)[key] == 0.04
    assert samples(second.content)[key] == 0.09


@pytest.mark.django_db
@pytest.mark.parametrize("kept_s", [0, 60])
def test_a_client_accepting_gzip_gets_the_same_samples_compressed(
    client, service, settings, kept_s
):
    settings.METRICS_TOKEN, settings.METRICS_CACHE_S = TOKEN, kept_s
    for n in range(40):
        make_check(service, f"web-{n}", last_latency_ms=5.0 + n)
    plain = scrape(client, **bearer())
    packed = [scrape(client, HTTP_ACCEPT_ENCODING="gzip", **bearer()) for _ in range(2)]
    assert "Content-Encoding" not in plain
    assert "Accept-Encoding" in plain["Vary"]
    for response in packed:
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        # One gzip member whose checksum and length gzip itself verifies.
        member = zlib.decompressobj(wbits=31)
        body = member.decompress(response.content) + member.flush()
        assert member.eof and member.unused_data == b""
        assert body == gzip.decompress(response.content)
        assert samples(body) == samples(plain.content)
        assert len(response.content) < len(body) / 3
    assert len(samples(plain.content)) > 3 * 40


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("deflate, gzip", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("br, deflate", False),
        ("gzipx", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_reads_whether_the_client_accepts_gzip(header, accepted):
    assert accepts_gzip(header) is accepted
