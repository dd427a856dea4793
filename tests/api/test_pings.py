import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from checks.heartbeats import heartbeats_sweep, late_deadline
from checks.models import Check, Kind, Outcome, Ping, PingKind, Result, State, Transition
from checks.ping_intake import pings_drain
from tests.checks.factories import make_check

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def job(service) -> Check:
    with time_machine.travel(NOW - timedelta(hours=2), tick=False):
        return make_check(
            service, "nightly", kind=Kind.HEARTBEAT, config={}, interval_s=3600, grace_s=300,
            failures_before_down=1,
        )  # fmt: skip


def ping(client, path: str, at: datetime, method: str = "get", **kw):
    """A request, then the drain that applies stored pings (nothing pends on SQLite)."""
    with time_machine.travel(at, tick=False):
        response = getattr(client, method)(path, **kw)
        pings_drain()
        return response


@pytest.mark.django_db
def test_success_ping_marks_the_job_up_and_is_stored(client, job):
    response = ping(client, f"/ping/{job.ping_uuid}", NOW, HTTP_USER_AGENT="curl/8")
    assert response.status_code == 200
    assert response.content == b"OK\n"
    job.refresh_from_db()
    assert job.state == State.UP
    assert job.last_ping_at == NOW
    stored = Ping.objects.get()
    assert (stored.kind, stored.method, stored.user_agent) == (PingKind.SUCCESS, "GET", "curl/8")


@pytest.mark.django_db
def test_fail_ping_marks_the_job_down(client, job):
    ping(client, f"/ping/{job.ping_uuid}/fail", NOW)
    job.refresh_from_db()
    assert job.state == State.DOWN
    assert Transition.objects.get().reason == "1 failure(s) in a row: job reported failure"


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "state"), [(0, State.UP), (1, State.DOWN), (255, State.DOWN)])
def test_exit_status_decides_the_outcome(client, job, status, state):
    assert ping(client, f"/ping/{job.ping_uuid}/{status}", NOW).status_code == 200
    job.refresh_from_db()
    assert job.state == state
    assert Ping.objects.get().exit_status == status


@pytest.mark.django_db
def test_exit_status_above_255_is_a_400(client, job):
    response = ping(client, f"/ping/{job.ping_uuid}/256", NOW)
    assert response.status_code == 400
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_start_then_finish_measures_the_run_duration(client, job):
    ping(client, f"/ping/{job.ping_uuid}/start?rid=run-1", NOW)
    ping(client, f"/ping/{job.ping_uuid}?rid=run-1", NOW + timedelta(seconds=42))
    finish = Ping.objects.get(kind=PingKind.SUCCESS)
    assert finish.duration_ms == 42_000
    result = Result.objects.get()
    assert result.latency_ms == 42_000
    job.refresh_from_db()
    assert job.last_detail == "job reported success after 42.0s"


@pytest.mark.django_db
def test_a_start_is_paired_with_one_finish_only(client, job):
    ping(client, f"/ping/{job.ping_uuid}/start", NOW)
    ping(client, f"/ping/{job.ping_uuid}", NOW + timedelta(seconds=5))
    ping(client, f"/ping/{job.ping_uuid}", NOW + timedelta(seconds=9))
    durations = list(
        Ping.objects.filter(kind=PingKind.SUCCESS)
        .order_by("received_at")
        .values_list("duration_ms", flat=True)
    )
    assert durations == [5000, None]


@pytest.mark.django_db
def test_post_body_is_kept_up_to_10_kb(client, job):
    body = "x" * 12_000
    ping(client, f"/ping/{job.ping_uuid}", NOW, method="post", data=body, content_type="text/plain")
    assert len(Ping.objects.get().body) == 10_000


@pytest.mark.django_db
def test_a_large_body_is_refused(client, job):
    response = ping(
        client, f"/ping/{job.ping_uuid}", NOW, method="post",
        data="x" * 200_000, content_type="text/plain",
    )  # fmt: skip
    assert response.status_code == 413
    assert Ping.objects.count() == 0


@pytest.mark.django_db
def test_head_is_accepted(client, job):
    assert ping(client, f"/ping/{job.ping_uuid}", NOW, method="head").status_code == 200
    assert Ping.objects.get().method == "HEAD"


@pytest.mark.django_db
def test_unknown_uuid_is_a_404_not_a_500(client, job):
    response = ping(client, f"/ping/{uuid.UUID(int=7)}", NOW)
    assert response.status_code == 404
    assert client.get("/ping/not-a-uuid").status_code == 404


@pytest.mark.django_db
def test_ping_to_a_probed_check_uuid_is_a_404(client, service):
    http_check = make_check(service, "api")
    assert ping(client, f"/ping/{http_check.ping_uuid}", NOW).status_code == 404


@pytest.mark.django_db
def test_pings_are_rate_limited_per_check(client, job, settings):
    settings.PING_RATE_PER_MINUTE = 3
    codes = [ping(client, f"/ping/{job.ping_uuid}", NOW).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert Ping.objects.count() == 3


@pytest.mark.django_db
def test_paused_check_keeps_the_ping_but_not_the_state(client, job):
    Check.objects.filter(pk=job.pk).update(is_paused=True)
    ping(client, f"/ping/{job.ping_uuid}/fail", NOW)
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert Ping.objects.count() == 1


@pytest.mark.django_db
def test_on_time_job_is_not_late(client, job):
    ping(client, f"/ping/{job.ping_uuid}", NOW)
    job.refresh_from_db()
    assert late_deadline(job, now=NOW + timedelta(minutes=64)) is None
    assert heartbeats_sweep(now=NOW + timedelta(minutes=64)).inserted == 0


@pytest.mark.django_db
def test_sweep_marks_a_late_job_down_once(client, job):
    ping(client, f"/ping/{job.ping_uuid}", NOW)
    later = NOW + timedelta(minutes=66)  # period 60 min + grace 5 min passed
    first = heartbeats_sweep(now=later)
    second = heartbeats_sweep(now=later + timedelta(seconds=15))
    assert (first.inserted, first.transitions) == (1, 1)
    assert second.inserted == 0
    job.refresh_from_db()
    assert job.state == State.DOWN
    late = Result.objects.get(outcome=Outcome.DOWN)
    assert late.detail == "late: no ping since 2026-11-26T12:00:00+00:00"


@pytest.mark.django_db
def test_each_missed_period_counts_as_one_failure(client, service):
    with time_machine.travel(NOW, tick=False):
        job = make_check(
            service, "hourly", kind=Kind.HEARTBEAT, config={}, interval_s=3600, grace_s=300,
            failures_before_down=2,
        )  # fmt: skip
    heartbeats_sweep(now=NOW + timedelta(minutes=66))
    job.refresh_from_db()
    assert (job.state, job.consecutive_failures) == (State.UNKNOWN, 1)
    heartbeats_sweep(now=NOW + timedelta(minutes=126))
    job.refresh_from_db()
    assert job.state == State.DOWN


@pytest.mark.django_db
def test_cron_job_is_late_after_its_scheduled_run_plus_grace(client, service):
    with time_machine.travel(NOW, tick=False):
        job = make_check(
            service, "nightly-cron", kind=Kind.HEARTBEAT, config={}, cron="0 2 * * *",
            grace_s=600, failures_before_down=1,
        )  # fmt: skip
    assert late_deadline(job, now=datetime(2026, 11, 27, 2, 9, tzinfo=UTC)) is None
    deadline = late_deadline(job, now=datetime(2026, 11, 27, 2, 11, tzinfo=UTC))
    assert deadline == datetime(2026, 11, 27, 2, 10, tzinfo=UTC)
    ping(client, f"/ping/{job.ping_uuid}", datetime(2026, 11, 27, 2, 5, tzinfo=UTC))
    job.refresh_from_db()
    assert late_deadline(job, now=datetime(2026, 11, 27, 2, 11, tzinfo=UTC)) is None


def heartbeat_jobs(service, count: int) -> list[Check]:
    with time_machine.travel(NOW - timedelta(hours=2), tick=False):
        return [
            make_check(service, f"job-{n}", kind=Kind.HEARTBEAT, config={}, interval_s=60)
            for n in range(count)
        ]


def test_ping_limits_are_per_check_with_a_generous_per_client_cap(settings):
    assert (settings.PING_RATE_PER_MINUTE, settings.PING_CLIENT_RATE_PER_MINUTE) == (120, 3000)


@pytest.mark.django_db
def test_150_jobs_pinging_from_one_address_are_all_accepted(client, service):
    jobs = heartbeat_jobs(service, 150)
    codes = {ping(client, f"/ping/{job.ping_uuid}", NOW).status_code for job in jobs}
    assert codes == {200}
    assert Ping.objects.count() == 150


@pytest.mark.django_db
def test_a_client_past_its_cap_gets_429_whatever_the_check(client, service, settings):
    settings.PING_CLIENT_RATE_PER_MINUTE = 4
    jobs = heartbeat_jobs(service, 5)
    codes = [ping(client, f"/ping/{job.ping_uuid}", NOW).status_code for job in jobs]
    assert codes == [200, 200, 200, 200, 429]
    other = ping(client, f"/ping/{jobs[4].ping_uuid}", NOW, REMOTE_ADDR="198.51.100.20")
    assert other.status_code == 200
    assert Ping.objects.count() == 5


@pytest.mark.django_db
def test_guessing_at_unknown_uuids_counts_against_the_client_cap(client, job, settings):
    settings.PING_CLIENT_RATE_PER_MINUTE = 3
    guesses = [ping(client, f"/ping/{uuid.UUID(int=n)}", NOW).status_code for n in range(3)]
    assert guesses == [404, 404, 404]
    assert ping(client, f"/ping/{job.ping_uuid}", NOW).status_code == 429


@pytest.mark.django_db
def test_pings_through_a_trusted_proxy_keep_the_client_address(client, job, settings):
    settings.TRUSTED_PROXIES = ["172.30.57.1"]
    settings.PING_CLIENT_RATE_PER_MINUTE = 1
    via_proxy = {"REMOTE_ADDR": "172.30.57.1"}
    first = ping(
        client, f"/ping/{job.ping_uuid}", NOW, HTTP_X_FORWARDED_FOR="203.0.113.7", **via_proxy
    )
    second = ping(
        client, f"/ping/{job.ping_uuid}", NOW, HTTP_X_FORWARDED_FOR="2001:db8::7", **via_proxy
    )
    spoofed = ping(
        client,
        f"/ping/{job.ping_uuid}",
        NOW,
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7",
        **via_proxy,
    )
    assert (first.status_code, second.status_code, spoofed.status_code) == (200, 200, 429)
    assert sorted(Ping.objects.values_list("remote_addr", flat=True)) == [
        "2001:db8::7",
        "203.0.113.7",
    ]


@pytest.mark.django_db
def test_pings_are_accepted_and_stored_while_the_cache_is_unreachable(client, job, settings):
    from statuspage.core import counters
    from tests.private_redis import unreachable_redis_cache

    # The first ping changes the job's state (which touches the cache); later ones do not.
    assert ping(client, f"/ping/{job.ping_uuid}", NOW).status_code == 200
    counters.local_clear()
    settings.PING_RATE_PER_MINUTE = 4
    down = unreachable_redis_cache()
    settings.CACHES = {"default": down, "counters": down}
    try:
        later = NOW + timedelta(seconds=1)
        codes = [ping(client, f"/ping/{job.ping_uuid}", later).status_code for _ in range(5)]
    finally:
        counters.local_clear()
    assert codes == [200, 200, 200, 200, 429]
    assert Ping.objects.count() == 5
