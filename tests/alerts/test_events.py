"""Events recorded from the engine's changes, with their outbox rows, exactly once."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from checks.deploys import deployment_judge
from checks.heartbeats import heartbeats_sweep
from checks.models import Kind, Outcome, Result, State, Transition
from checks.services import Observation, results_record
from statuspage.alerts import events as events_module
from statuspage.alerts.events import Announced, Pending, events_record_many, last_announced
from statuspage.alerts.models import Event, EventKind, Notification, NotificationState
from statuspage.alerts.routing import candidates
from statuspage.catalog.models import Deployment
from tests.alerts.eventkit import T0, at, down, kinds, make_channel, observe, quick_check, up
from tests.checks.factories import make_check
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def test_a_check_going_down_queues_one_message_per_team_channel(service, team):
    first, second = make_channel(team, "oncall"), make_channel(team, "mail", kind="email")
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    event = Event.objects.get()
    assert (event.kind, event.service, event.check_ref) == (EventKind.DOWN, service, check)
    assert sorted(Notification.objects.values_list("channel", flat=True)) == [first.pk, second.pk]
    assert event.context["check"]["error"] == "1 failure(s) in a row: HTTP 503 (expected 200)"
    assert event.context["notes"]["expected_result"] == "GET /health returns 200 with ok=true"


def test_a_batch_delivered_twice_records_its_event_once(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    down(check, at(1))
    assert kinds(channel) == [EventKind.DOWN]


def test_recovery_says_how_long_the_service_was_down(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    down(check, at(1))
    up(check, at(48))
    assert kinds(channel) == [EventKind.DOWN, EventKind.UP]
    recovery = Event.objects.get(kind=EventKind.UP)
    assert recovery.context["down_for_s"] == 47 * 60
    assert recovery.context["since"] == at(1).isoformat()


def test_a_first_success_is_not_news_but_a_first_failure_is(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    assert kinds(channel) == []
    other = quick_check(service, name="GET /ready")
    down(other, at(1))
    assert kinds(channel) == [EventKind.DOWN]


def _first_results(checks, when, outcome=Outcome.UP) -> None:
    second = int(when.timestamp())
    results_record(
        observations=[
            Observation(check_id=c.pk, slot=second, checked_at=float(second), outcome=outcome,
                        latency_ms=12.0, detail="HTTP 200")
            for c in checks
        ]
    )  # fmt: skip


def test_a_batch_that_tells_nobody_reads_no_channels(service, team):
    make_channel(team)
    checks = [quick_check(service, name=f"GET /n{i}") for i in range(30)]
    with CaptureQueriesContext(connection) as queries:
        _first_results(checks, at(0))
    assert Transition.objects.filter(from_state=State.UNKNOWN, to_state=State.UP).count() == 30
    assert not Event.objects.exists()
    # Their first successes are news to no one: what a message needs is not read.
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "alerts_channel" not in read
    assert "catalog_team" not in read


def test_in_a_batch_of_first_results_the_failures_are_told(service, team):
    channel = make_channel(team)
    quiet = [quick_check(service, name=f"GET /n{i}") for i in range(5)]
    failing = quick_check(service, name="GET /broken")
    _first_results(quiet, at(0))
    _first_results([*quiet, failing], at(1), Outcome.DOWN)
    assert kinds(channel) == [EventKind.DOWN] * 6
    assert set(Event.objects.values_list("check_ref", flat=True)) == {
        c.pk for c in [*quiet, failing]
    }


def test_slower_than_its_threshold_is_degraded_and_back_says_nothing(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    up(check, at(0))
    observe(check, at(1), Outcome.DEGRADED, "slow: 900 ms > 500 ms")
    up(check, at(2))
    assert kinds(channel) == [EventKind.DEGRADED]


def test_two_failures_needed_means_one_event_at_the_second(service, team):
    channel = make_channel(team)
    check = make_check(service, failures_before_down=2)
    up(check, at(0))
    down(check, at(1))
    assert kinds(channel) == []
    down(check, at(2))
    assert kinds(channel) == [EventKind.DOWN]


def test_a_paused_service_or_check_is_silent(team):
    channel = make_channel(team)
    paused_service = make_service("paused-api", team=team, is_paused=True)
    check = quick_check(paused_service)
    down(check, at(1))
    live = make_service("live-api", team=team)
    paused_check = quick_check(live, is_paused=True)
    down(paused_check, at(1))
    assert kinds(channel) == []


def test_a_late_heartbeat_is_its_own_kind(service, team):
    channel = make_channel(team)
    job = make_check(
        service,
        name="nightly import",
        kind=Kind.HEARTBEAT,
        config={},
        interval_s=3600,
        grace_s=300,
        failures_before_down=1,
    )
    job.created_at = T0
    job.save(update_fields=["created_at"])
    heartbeats_sweep(now=T0 + timedelta(hours=2))
    heartbeats_sweep(now=T0 + timedelta(hours=2))
    assert kinds(channel) == [EventKind.HEARTBEAT_LATE]
    event = Event.objects.get()
    assert event.context["check"]["heartbeat"] is True
    assert "late" in event.context["check"]["error"]


def _results(check, start, count, outcome, latency):
    Result.objects.bulk_create(
        Result(
            check_ref=check,
            slot=int((start + timedelta(minutes=i)).timestamp()),
            checked_at=start + timedelta(minutes=i),
            outcome=outcome,
            latency_ms=latency,
        )
        for i in range(count)
    )


def test_a_regressed_deployment_tells_the_team_with_its_numbers_once(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    deployed = at(60)
    _results(check, deployed - timedelta(minutes=30), 30, Outcome.UP, 40.0)
    _results(check, deployed, 30, Outcome.UP, 400.0)
    deployment = Deployment.objects.create(
        service=service, version="v2", deployed_at=deployed, deployed_by="ci"
    )
    now = deployed + timedelta(minutes=31)
    deployment_judge(deployment_id=deployment.pk, now=now, window_s=1800)
    deployment_judge(deployment_id=deployment.pk, now=now, window_s=1800, replace=True)
    assert kinds(channel) == [EventKind.DEPLOY_REGRESSED]
    context = Event.objects.get().context
    impact = context["deployment"]["impact"]
    assert context["deployment"]["version"] == "v2"
    assert impact["verdict"] == "regressed"
    assert (impact["before"]["p95_ms"], impact["after"]["p95_ms"]) == (40.0, 400.0)


def test_an_unchanged_deployment_says_nothing(service, team):
    channel = make_channel(team)
    check = quick_check(service)
    deployed = at(60)
    _results(check, deployed - timedelta(minutes=30), 30, Outcome.UP, 40.0)
    _results(check, deployed, 30, Outcome.UP, 41.0)
    deployment = Deployment.objects.create(
        service=service, version="v2", deployed_at=deployed, deployed_by="ci"
    )
    deployment_judge(deployment_id=deployment.pk, now=deployed + timedelta(hours=1), window_s=1800)
    assert kinds(channel) == []


def test_published_incidents_and_their_updates_tell_the_affected_teams_once(
    service, team, other_team
):
    from django.utils import timezone

    from statuspage.alerts.reminders import alerts_sweep
    from statuspage.incidents.models import ComponentStatus, IncidentStatus
    from statuspage.incidents.services import incident_open, incident_publish, incident_update_post

    ours, theirs = make_channel(team), make_channel(other_team, "search")
    draft = incident_open(
        title="Payments failing",
        impact="major",
        affected={service: ComponentStatus.MAJOR_OUTAGE},
        body="We are looking into it.",
        publish=False,
        by=None,
    )
    alerts_sweep(now=timezone.now())
    assert kinds(ours) == []
    incident_publish(incident=draft, by=None)
    alerts_sweep(now=timezone.now())
    incident_update_post(
        incident=draft, status=IncidentStatus.IDENTIFIED, body="A bad config push.", by=None
    )
    alerts_sweep(now=timezone.now())
    alerts_sweep(now=timezone.now())
    assert kinds(ours) == [EventKind.INCIDENT_PUBLISHED, EventKind.INCIDENT_UPDATED]
    assert kinds(theirs) == []
    update = Event.objects.get(kind=EventKind.INCIDENT_UPDATED).context["incident"]
    assert (update["status"], update["body"]) == ("identified", "A bad config push.")
    assert update["services"] == ["Checkout Api"]
    published = Event.objects.get(kind=EventKind.INCIDENT_PUBLISHED).context["incident"]
    assert published["body"] == "We are looking into it."


def test_a_failing_listener_never_costs_the_engine_its_results(service, team, monkeypatch):
    from checks import listeners
    from checks.models import State

    def broken(transitions):
        raise RuntimeError("listener bug")

    make_channel(team)
    check = quick_check(service)
    monkeypatch.setattr(listeners, "transition_listeners", [broken])
    down(check, at(1))
    check.refresh_from_db()
    assert check.state == State.DOWN
    assert Result.objects.filter(check_ref=check).count() == 1
    assert Event.objects.count() == 0


def test_a_key_recorded_meanwhile_is_skipped_and_the_rest_recorded(service, team):
    channel = make_channel(team)
    taken, fresh = quick_check(service), quick_check(service, name="GET /ready")
    # Another writer (a sweep in another process) recorded the first key already.
    Event.objects.create(kind=EventKind.DOWN, key="k-taken", occurred_at=at(1), service=service)
    pending = [
        Pending(EventKind.DOWN, "k-taken", at(1), {"n": 1}, service, taken),
        Pending(
            EventKind.DOWN, "k-fresh", at(1), {"n": 2, "when": at(1).isoformat()}, service, fresh
        ),
        # The same key twice in one batch is recorded once.
        Pending(EventKind.DOWN, "k-fresh", at(1), {"n": 3}, service, fresh),
    ]
    with transaction.atomic():
        recorded = events_record_many(pending, candidates=candidates([service]))
    assert recorded == 1
    event = Event.objects.get(key="k-fresh")
    assert (event.kind, event.check_ref, event.service) == (EventKind.DOWN, fresh, service)
    assert event.context == {"n": 2, "when": at(1).isoformat()}
    assert event.created_at is not None
    outbox = Notification.objects.get()
    assert (outbox.event, outbox.channel, outbox.state) == (
        event,
        channel,
        NotificationState.PENDING,
    )
    assert outbox.delivery is None and outbox.created_at is not None


def _event(check, kind: str, minute: float, key: str) -> Event:
    return Event.objects.create(
        kind=kind, key=key, occurred_at=at(minute), service=check.service, check_ref=check
    )


def test_last_announced_is_each_checks_newest_state_event(service):
    recovered, down_now, tied = (quick_check(service, name=f"GET /{n}") for n in "abc")
    silent = quick_check(service, name="GET /d")
    _event(recovered, EventKind.DOWN, 1, "r-down")
    up_event = _event(recovered, EventKind.UP, 2, "r-up")
    _event(recovered, EventKind.FLAPPING, 3, "r-flap")  # newer, but says no state
    down_event = _event(down_now, EventKind.HEARTBEAT_LATE, 5, "d-late")
    _event(tied, EventKind.UP, 4, "t-up")
    tied_down = _event(tied, EventKind.DOWN, 4, "t-down")  # same time: the later record
    _event(silent, EventKind.DEGRADED, 1, "s-degraded")

    found = last_announced(c.pk for c in (recovered, down_now, tied, silent, tied))

    assert found == {
        recovered.pk: Announced(EventKind.UP, up_event.pk, at(2)),
        down_now.pk: Announced(EventKind.HEARTBEAT_LATE, down_event.pk, at(5)),
        tied.pk: Announced(EventKind.DOWN, tied_down.pk, at(4)),
    }
    assert not found[recovered.pk].is_down and found[down_now.pk].is_down
    assert last_announced([]) == {}


@pytest.mark.postgres
def test_last_announced_reads_by_index_before_the_table_is_analyzed(service):
    # Analyzed while nearly empty, the events table was read whole for every batch of
    # transitions; each check's newest event comes from its own index entries instead.
    checks = [quick_check(service, name=f"GET /n{n}") for n in range(200)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE alerts_event")
    for number, check in enumerate(checks):
        for minute in range(10):
            _event(
                check, EventKind.DOWN if minute % 2 else EventKind.UP, minute, f"{number}:{minute}"
            )
    ids = [c.pk for c in checks[:50]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + events_module._LAST_ANNOUNCED, [ids, ["down", "up"]])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on alerts_event" not in plan, plan
    assert "alert_event_check_time" in plan, plan
    found = last_announced(ids)
    assert {a.kind for a in found.values()} == {EventKind.DOWN} and len(found) == 50
    assert {a.occurred_at for a in found.values()} == {at(9)}
