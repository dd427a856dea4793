"""The message of an event in every format: mail text and HTML, Slack blocks, webhook JSON."""

import json
from datetime import timedelta

import pytest

from checks.models import DeploymentImpact, Verdict
from statuspage.alerts.messages import GROUP_LIST_MAX, render
from statuspage.alerts.models import Event, EventKind, Notification
from statuspage.catalog.models import Deployment, OwnerNote
from tests.alerts.eventkit import at, down, make_channel, quick_check, up
from tests.factories import make_service

pytestmark = pytest.mark.django_db

RUNBOOK = "https://wiki.example.com/runbooks/checkout"


@pytest.fixture
def noted(service):
    OwnerNote.objects.filter(service=service).update(
        expected_result="GET /health answers ok within 200 ms",
        rollback_note="make rollback VERSION=previous",
        runbook="1. Look at the pool",
        links=f"Runbook {RUNBOOK}\nDashboard https://grafana.example.com/d/checkout",
    )
    deployment = Deployment.objects.create(
        service=service,
        version="2026.12.01-3",
        ref="a1b2c3d",
        deployed_at=at(-90),
        deployed_by="ci-pipeline",
        reason="Cache product lookups",
    )
    DeploymentImpact.objects.create(
        deployment=deployment,
        window_s=1800,
        computed_at=at(-60),
        before_count=30,
        after_count=30,
        before_p50_ms=40.0,
        before_p95_ms=80.0,
        after_p50_ms=90.0,
        after_p95_ms=310.0,
        before_failure_pct=0.0,
        after_failure_pct=0.0,
        verdict=Verdict.REGRESSED,
        reason="p95 latency 80 ms -> 310 ms (+288%)",
    )
    return service


def message_of(channel, kind):
    notification = Notification.objects.select_related("event").get(
        channel=channel, event__kind=kind
    )
    return render([notification], channel), notification.event


def every_format(message) -> list[str]:
    return [
        message.subject + message.text,
        message.html,
        json.dumps(message.slack),
        json.dumps(message.webhook),
    ]


def test_a_down_alert_carries_the_owner_notes_and_the_last_deploy_everywhere(noted, team):
    channel = make_channel(team)
    check = quick_check(noted)
    up(check, at(0))
    down(check, at(1), "HTTP 503 (expected 200)")
    message, _ = message_of(channel, EventKind.DOWN)
    assert message.subject == "Checkout Api is down: GET /health failing"
    for text in every_format(message):
        assert "GET /health answers ok within 200 ms" in text
        assert "make rollback VERSION=previous" in text
        assert "2026.12.01-3" in text
        assert "p95 latency 80 ms -&gt; 310 ms" in text or "p95 latency 80 ms -> 310 ms" in text
        assert RUNBOOK in text
        assert "http://127.0.0.1:8000/services/checkout-api/" in text
        assert "/ack/checkout-api/" in text
        assert "HTTP 503 (expected 200)" in text
        assert "Payments" in text
    assert "Regressed" in message.text and "310.0" in message.text and "80.0" in message.text


def test_the_webhook_json_follows_the_documented_envelope(noted, team):
    channel = make_channel(team)
    check = quick_check(noted)
    down(check, at(1))
    message, event = message_of(channel, EventKind.DOWN)
    body = message.webhook
    assert (body["type"], body["timestamp"]) == ("alert.down", at(1).isoformat())
    data = body["data"]
    assert data["event_id"] == event.key
    assert data["service"]["slug"] == "checkout-api"
    assert data["team"]["chat_channel"] == "#payments"
    assert data["notes"]["runbook_url"] == RUNBOOK
    assert data["deployment"]["impact"]["after"]["p95_ms"] == 310.0
    assert data["links"]["ack"].startswith("http://127.0.0.1:8000/ack/checkout-api/")
    assert set(data) >= {"kind", "occurred_at", "check", "notes", "deployment", "links"}


def test_slack_blocks_have_a_header_sections_and_link_buttons(noted, team):
    channel = make_channel(team, kind="slack")
    check = quick_check(noted)
    down(check, at(1))
    message, _ = message_of(channel, EventKind.DOWN)
    blocks = message.slack["blocks"]
    assert message.slack["text"] == message.subject
    assert blocks[0]["type"] == "header"
    buttons = {e["text"]["text"]: e["url"] for e in blocks[-1]["elements"]}
    assert set(buttons) == {"Service page", "Runbook", "Acknowledge"}
    assert buttons["Runbook"] == RUNBOOK


def test_recovery_says_how_long_it_was_down_and_offers_no_ack(noted, team):
    channel = make_channel(team)
    check = quick_check(noted)
    up(check, at(0))
    down(check, at(1))
    up(check, at(126))
    message, _ = message_of(channel, EventKind.UP)
    assert message.subject == "Checkout Api is up again after 2 h 5 min down"
    assert "down for 2 h 5 min" in message.text
    assert "/ack/" not in message.text and "Acknowledge" not in message.html
    assert message.webhook["data"]["down_for_s"] == 125 * 60


def test_a_note_edited_after_the_event_does_not_change_its_message(noted, team):
    channel = make_channel(team)
    check = quick_check(noted)
    down(check, at(1))
    OwnerNote.objects.filter(service=noted).update(rollback_note="something else entirely")
    message, _ = message_of(channel, EventKind.DOWN)
    assert "make rollback VERSION=previous" in message.text
    assert "something else entirely" not in message.text


def test_owner_text_is_escaped_in_html_and_slack(service, team):
    OwnerNote.objects.filter(service=service).update(rollback_note="<script>x()</script> & <b>")
    channel = make_channel(team)
    down(quick_check(service), at(1))
    message, _ = message_of(channel, EventKind.DOWN)
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<script>" not in json.dumps(message.slack)
    assert "<script>x()</script> & <b>" in message.text


def test_several_services_down_at_once_make_one_grouped_message(team):
    channel = make_channel(team)
    count = GROUP_LIST_MAX + 5
    for number in range(count):
        service = make_service(f"svc-{number:02d}", team=team)
        down(quick_check(service), at(1) + timedelta(seconds=number))
    notifications = list(Notification.objects.select_related("event").filter(channel=channel))
    message = render(notifications, channel)
    assert message.subject.startswith(f"{count} services down: Svc 00, Svc 01")
    assert message.subject.endswith("and 5 more")
    assert "... and 5 more" in message.text
    assert message.text.count("/ack/") == GROUP_LIST_MAX
    assert message.webhook["type"] == "alert.group"
    assert message.webhook["data"]["count"] == count
    assert len(message.webhook["data"]["events"]) == count
    assert message.webhook["data"]["short"] is False
    assert message.webhook["data"]["events"][0]["notes"]["rollback_note"]
    assert message.slack["blocks"][0]["text"]["text"] == f"{count} services down"


def test_a_group_of_outages_and_recoveries_counts_each_kind(team):
    channel = make_channel(team)
    first, second = make_service("alpha", team=team), make_service("beta", team=team)
    a, b = quick_check(first), quick_check(second)
    up(a, at(0))
    down(a, at(1))
    down(b, at(2))
    up(a, at(3))
    notifications = list(Notification.objects.select_related("event").filter(channel=channel))
    message = render(notifications, channel)
    assert message.subject.startswith("2 services down, 1 up: Alpha, Beta, Alpha")
    assert [e["kind"] for e in message.webhook["data"]["events"]] == ["down", "down", "up"]


def test_render_of_nothing_is_refused(team):
    with pytest.raises(ValueError):
        render([], make_channel(team))
    assert Event.objects.count() == 0


def test_a_storm_sends_every_event_in_short_form_to_webhooks(team, monkeypatch):
    from statuspage.alerts import messages

    channel = make_channel(team)
    for number in range(4):
        down(quick_check(make_service(f"svc-{number}", team=team)), at(1))
    notifications = list(Notification.objects.select_related("event").filter(channel=channel))
    full = render(notifications, channel).webhook["data"]
    monkeypatch.setattr(messages, "GROUP_WEBHOOK_FULL_MAX", 3)
    short = render(notifications, channel).webhook["data"]
    assert (full["short"], short["short"], short["count"]) == (False, True, 4)
    assert len(short["events"]) == 4
    first = short["events"][0]
    assert "notes" not in first and "deployment" not in first
    assert first["event_id"] == full["events"][0]["event_id"]
    assert first["service"]["url"].endswith("/services/svc-0/")
    assert "/ack/svc-0/" in first["links"]["ack"]
    assert len(json.dumps(short)) < len(json.dumps(full))
