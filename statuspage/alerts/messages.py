"""The message of one event, or of several grouped into one, in every channel's format.

Text and HTML come from Django templates in files (templates/alerts/); nobody edits them
through the product, so no user-written template code ever runs. Slack blocks and the
webhook JSON are built here from the same view of the event. Everything is read from the
event's snapshot (``Event.context``), never from the database, so a retry says the same.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.template.loader import render_to_string

from statuspage.alerts import acks
from statuspage.alerts.models import Channel, EventKind, Notification

# A grouped message names this many events and counts the rest.
GROUP_LIST_MAX = 20
# A grouped webhook carries every event in full up to this many; a bigger group (a storm)
# carries each event in short form, so its body stays within common request-size limits.
GROUP_WEBHOOK_FULL_MAX = 50
SHORT_FIELDS = ("event_id", "kind", "summary", "occurred_at", "since", "down_for_s", "status")
# Slack refuses a header longer than this and a section text longer than SLACK_TEXT_MAX.
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 3000

DOWN_KINDS = {EventKind.DOWN, EventKind.HEARTBEAT_LATE}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    slack: dict = field(default_factory=dict)
    webhook: dict = field(default_factory=dict)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def utc_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def duration_text(seconds: float | None) -> str:
    """ "2 h 5 min", "3 min", "40 s": how long something lasted, as people say it."""
    if seconds is None:
        return ""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _subject_name(ctx: dict) -> str:
    if ctx.get("service"):
        return ctx["service"]["name"]
    if ctx.get("incident"):
        return ctx["incident"]["title"]
    if ctx.get("maintenance"):
        return ctx["maintenance"]["title"]
    return "Status dashboard"


def headline(kind: str, ctx: dict) -> str:
    """One line saying what happened, shared by the subject, Slack header and webhook."""
    name = _subject_name(ctx)
    check = (ctx.get("check") or {}).get("name", "")
    down_for = duration_text(ctx.get("down_for_s"))
    lines = {
        EventKind.DOWN: f"{name} is down" + (f": {check} failing" if check else ""),
        EventKind.HEARTBEAT_LATE: f"{name}: job {check} is late",
        EventKind.UP: f"{name} is up again" + (f" after {down_for} down" if down_for else ""),
        EventKind.DEGRADED: f"{name} is degraded" + (f": {check} slow" if check else ""),
        EventKind.DEPLOY_REGRESSED: (
            f"{name}: deployment {(ctx.get('deployment') or {}).get('version', '')} regressed"
        ),
        EventKind.INCIDENT_PUBLISHED: f"Incident: {name}",
        EventKind.INCIDENT_UPDATED: (
            f"Incident {(ctx.get('incident') or {}).get('status_label', 'update')}: {name}"
        ),
        EventKind.MAINTENANCE_STARTED: f"Maintenance started: {name}",
        EventKind.MAINTENANCE_ENDED: f"Maintenance ended: {name}",
        EventKind.FLAPPING: f"{name}: {check} is flapping",
        EventKind.REMINDER: f"Reminder: {name} is still down"
        + (f" ({down_for})" if down_for else ""),
        EventKind.ESCALATION: f"Escalation: {name} down"
        + (f" for {down_for}" if down_for else "")
        + ", not acknowledged",
        EventKind.TEST: f"Test message for {name}",
    }
    return lines.get(kind, f"{name}: {kind}")


def _view(notification: Notification) -> dict:
    """The template context of one event: its snapshot plus what only rendering knows."""
    event = notification.event
    ctx = dict(event.context or {})
    occurred = event.occurred_at
    since = _when(ctx.get("since")) or occurred
    ack_url = ""
    if event.kind in acks.ACKABLE_KINDS and event.service_id:
        ack_url = acks.ack_url(
            service_id=event.service_id,
            event_id=event.pk,
            service_slug=(ctx.get("service") or {}).get("slug"),
        )
    links = {
        "service": (ctx.get("service") or {}).get("url", ""),
        "runbook": (ctx.get("notes") or {}).get("runbook_url", ""),
        "ack": ack_url,
        "incident": (ctx.get("incident") or {}).get("url", ""),
        "maintenance": (ctx.get("maintenance") or {}).get("url", ""),
    }
    deployment = ctx.get("deployment")
    if deployment:
        ctx["deployment"] = {
            **deployment,
            "deployed_at_text": utc_text(_when(deployment.get("deployed_at"))),
        }
    return {
        **ctx,
        "kind": event.kind,
        "event_id": event.pk,
        "event_key": event.key,
        "headline": headline(event.kind, ctx),
        "occurred_at": occurred,
        "occurred_text": utc_text(occurred),
        "since_text": utc_text(since),
        "down_for_text": duration_text(ctx.get("down_for_s")),
        "is_down": event.kind in DOWN_KINDS,
        "is_recovery": event.kind == EventKind.UP,
        "links": links,
    }


def _deployment_line(deployment: dict | None) -> str:
    if not deployment:
        return ""
    line = f"{deployment['version']} by {deployment['deployed_by']}"
    line += f" at {utc_text(_when(deployment['deployed_at']))}"
    impact = deployment.get("impact")
    if impact:
        line += f", verdict {impact['verdict_label']}: {impact['reason']}"
    else:
        line += ", not judged yet"
    return line


def _webhook_data(view: dict) -> dict:
    """One event in the webhook schema (docs/alerts-webhook.md)."""
    return {
        "event_id": view["event_key"],
        "kind": view["kind"],
        "summary": view["headline"],
        "occurred_at": view["occurred_at"].isoformat(),
        "since": view.get("since"),
        "down_for_s": view.get("down_for_s"),
        "status": view.get("status"),
        "service": view.get("service"),
        "check": view.get("check"),
        "team": view.get("team"),
        "notes": view.get("notes"),
        "deployment": view.get("deployment"),
        "incident": view.get("incident"),
        "maintenance": view.get("maintenance"),
        "note": view.get("note", ""),
        "links": view["links"],
    }


def _short(data: dict) -> dict:
    """An event of a big group: what happened to which service, and where to read more."""
    short = {name: data[name] for name in SHORT_FIELDS}
    service, check, team = data.get("service"), data.get("check"), data.get("team")
    short["service"] = {k: service[k] for k in ("id", "slug", "name", "url")} if service else None
    short["check"] = {k: check[k] for k in ("id", "name", "error")} if check else None
    short["team"] = {k: team[k] for k in ("name", "slug")} if team else None
    short["links"] = data["links"]
    return short


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_section(text: str) -> dict:
    text = text if len(text) <= SLACK_TEXT_MAX else text[: SLACK_TEXT_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack_header(text: str) -> dict:
    if len(text) > SLACK_HEADER_MAX:
        text = text[: SLACK_HEADER_MAX - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _slack_facts(view: dict) -> list[str]:
    facts = []
    check = view.get("check")
    if check:
        facts.append(f"*Check:* {_slack_escape(check['name'])}")
        if check.get("error") and view["kind"] != EventKind.UP:
            facts.append(f"*Error:* {_slack_escape(check['error'])}")
    if view["is_down"] or view["kind"] in (EventKind.REMINDER, EventKind.ESCALATION):
        facts.append(f"*Since:* {view['since_text']}")
    if view["is_recovery"] and view["down_for_text"]:
        facts.append(f"*Down for:* {view['down_for_text']}")
    team = view.get("team")
    if team:
        facts.append(f"*Team:* {_slack_escape(team['name'])}")
    if view.get("note"):
        facts.append(_slack_escape(view["note"]))
    return facts


def _slack_blocks(view: dict) -> list[dict]:
    blocks = [_slack_header(view["headline"])]
    facts = _slack_facts(view)
    if facts:
        blocks.append(_slack_section("\n".join(facts)))
    notes = view.get("notes") or {}
    if notes.get("expected_result"):
        blocks.append(
            _slack_section(f"*Expected result:*\n{_slack_escape(notes['expected_result'])}")
        )
    if notes.get("rollback_note"):
        blocks.append(_slack_section(f"*Rollback note:*\n{_slack_escape(notes['rollback_note'])}"))
    deployment = _deployment_line(view.get("deployment"))
    if deployment:
        blocks.append(_slack_section(f"*Last deployment:* {_slack_escape(deployment)}"))
    for part in ("incident", "maintenance"):
        item = view.get(part)
        if item and item.get("body"):
            blocks.append(_slack_section(_slack_escape(item["body"])))
    buttons = [
        ("Service page", view["links"]["service"]),
        ("Runbook", view["links"]["runbook"]),
        ("Incident", view["links"]["incident"]),
        ("Maintenance", view["links"]["maintenance"]),
        ("Acknowledge", view["links"]["ack"]),
    ]
    elements = [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
        for label, url in buttons
        if url
    ]
    if elements:
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def _render_one(view: dict) -> Message:
    text = render_to_string("alerts/event.txt", view)
    html = render_to_string("alerts/event.html", view)
    slack = {"text": view["headline"], "blocks": _slack_blocks(view)}
    webhook = {
        "type": f"alert.{view['kind']}",
        "timestamp": view["occurred_at"].isoformat(),
        "data": _webhook_data(view),
    }
    return Message(subject=view["headline"], text=text, html=html, slack=slack, webhook=webhook)


def group_summary(views: list[dict]) -> str:
    """ "12 services down, 3 up": counts by kind, worst first."""
    counts: dict[str, int] = {}
    for view in views:
        counts[view["kind"]] = counts.get(view["kind"], 0) + 1
    order = [kind for kind in EventKind.values if kind in counts]
    parts = []
    for position, kind in enumerate(order):
        n = counts[kind]
        label = EventKind(kind).label.lower()
        noun = "service" if n == 1 else "services"
        parts.append(f"{n} {noun} {label}" if position == 0 else f"{n} {label}")
    return ", ".join(parts)


def _render_group(views: list[dict]) -> Message:
    summary = group_summary(views)
    shown, hidden = views[:GROUP_LIST_MAX], max(0, len(views) - GROUP_LIST_MAX)
    names = ", ".join(_subject_name(v) for v in shown) + (f" and {hidden} more" if hidden else "")
    subject = f"{summary}: {names}"
    ctx = {"summary": summary, "views": shown, "hidden": hidden, "count": len(views)}
    text = render_to_string("alerts/grouped.txt", ctx)
    html = render_to_string("alerts/grouped.html", ctx)
    lines = [
        f"• <{v['links']['service']}|{_slack_escape(v['headline'])}>"
        if v["links"]["service"]
        else f"• {_slack_escape(v['headline'])}"
        for v in shown
    ]
    if hidden:
        lines.append(f"… and {hidden} more")
    slack = {
        "text": subject,
        "blocks": [_slack_header(summary), _slack_section("\n".join(lines))],
    }
    events = [_webhook_data(v) for v in views]
    if len(events) > GROUP_WEBHOOK_FULL_MAX:
        events = [_short(event) for event in events]
    webhook = {
        "type": "alert.group",
        "timestamp": max(v["occurred_at"] for v in views).isoformat(),
        "data": {
            "summary": summary,
            "count": len(views),
            "short": len(views) > GROUP_WEBHOOK_FULL_MAX,
            "events": events,
        },
    }
    return Message(subject=subject, text=text, html=html, slack=slack, webhook=webhook)


def render(notifications: list[Notification], channel: Channel) -> Message:
    """One notification: that event's message. Several: one grouped message of them all,
    oldest first, naming up to GROUP_LIST_MAX of them. The webhook JSON of a group still
    carries every event (in short form past GROUP_WEBHOOK_FULL_MAX), so a machine reader
    misses none."""
    if not notifications:
        raise ValueError("render needs at least one notification")
    ordered = sorted(notifications, key=lambda n: (n.event.occurred_at, n.event_id))
    views = [_view(n) for n in ordered]
    if len(views) == 1:
        return _render_one(views[0])
    return _render_group(views)
