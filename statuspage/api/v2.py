"""The public status-page JSON API, in the version 2 format status-page clients understand.

Eight read-only endpoints under /api/v2/ with the field names and values of the de facto
standard (page, components, incidents, scheduled_maintenances, status), so existing status
widgets and aggregators work unchanged. Everything comes from statuspage.web.public (the
one place that decides what is public) through the public cache; summary.json also keeps
a last-good snapshot for when the database is unreachable. CORS is open for GET.

Update bodies (``incident_updates[].body``) are plain text: the words of the update's
Markdown with blank lines between paragraphs, without markup of any kind (no tags, no
attributes, no script URLs), so a widget that inserts them as HTML runs nothing.

Ids are opaque strings: "c<pk>" components, "g<hash>" component groups, "i<pk>" incidents,
"m<pk>" maintenance, "iu<pk>"/"mu<pk>" their updates.
"""

import json
from collections.abc import Callable
from urllib.parse import urljoin

from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from statuspage.core.markdown_text import markdown_text
from statuspage.web import public
from statuspage.web.public_cache import SNAPSHOT_SUMMARY, serve

JSON = "application/json"
RECENT = 50


def _time(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(public.page_zone()).isoformat(timespec="milliseconds")


def _absolute(path_: str) -> str:
    return urljoin(public.page_url(), path_)


def _page(page: public.PageInfo) -> dict:
    return {
        "id": page.id,
        "name": page.name,
        "url": page.url,
        "time_zone": page.time_zone,
        "updated_at": _time(page.updated_at),
    }


def _component(c: public.Component, page_id: str, group_ids: dict[str, str]) -> dict:
    return {
        "id": f"c{c.id}",
        "name": c.name,
        "status": c.status,
        "created_at": _time(c.created_at),
        "updated_at": _time(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": group_ids.get(c.group),
        "page_id": page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _group(g: public.Group, page_id: str) -> dict:
    return {
        "id": g.id,
        "name": g.name,
        "status": g.status,
        "created_at": _time(min(c.created_at for c in g.components)),
        "updated_at": _time(max(c.updated_at for c in g.components)),
        "position": g.position,
        "description": None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page_id,
        "group": True,
        "only_show_if_degraded": False,
        "components": [f"c{c.id}" for c in g.components],
    }


class Shapes:
    """Turns one public summary into the standard objects (components by id for lookups)."""

    def __init__(self, summary: public.PublicSummary) -> None:
        self.summary = summary
        self.page_id = summary.page.id
        group_ids = {g.name: g.id for g in summary.groups}
        self.by_id = {c.id: _component(c, self.page_id, group_ids) for c in summary.components}
        self.components = []
        for entry in summary.layout:
            if isinstance(entry, public.Group):
                self.components.append(_group(entry, self.page_id))
                self.components += [self.by_id[c.id] for c in entry.components]
            else:
                self.components.append(self.by_id[entry.id])

    def _updates(self, updates, prefix: str, parent: str) -> list[dict]:
        return [
            {
                "id": f"{prefix}{u.id}",
                "status": u.status,
                "body": markdown_text(u.body),
                "incident_id": parent,
                "created_at": _time(u.created_at),
                "updated_at": _time(u.created_at),
                "display_at": _time(u.created_at),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for u in updates
        ]

    def _affected(self, affected) -> list[dict]:
        return [self.by_id[a.component_id] for a in affected if a.component_id in self.by_id]

    def incident(self, i: public.PublicIncident) -> dict:
        ident = f"i{i.id}"
        return {
            "id": ident,
            "name": i.name,
            "status": i.status,
            "created_at": _time(i.created_at),
            "updated_at": _time(i.updated_at),
            "monitoring_at": _time(i.monitoring_at),
            "resolved_at": _time(i.resolved_at),
            "impact": i.impact,
            "shortlink": _absolute(reverse("public-incident", args=[i.id])),
            "started_at": _time(i.started_at),
            "page_id": self.page_id,
            "incident_updates": self._updates(i.updates, "iu", ident),
            "components": self._affected(i.affected),
        }

    def maintenance(self, m: public.PublicMaintenance) -> dict:
        ident = f"m{m.id}"
        return {
            "id": ident,
            "name": m.name,
            "status": m.status,
            "created_at": _time(m.created_at),
            "updated_at": _time(m.updated_at),
            "monitoring_at": None,
            "resolved_at": _time(m.completed_at),
            "impact": "maintenance",
            "shortlink": _absolute(reverse("public-maintenance", args=[m.id])),
            "started_at": _time(m.started_at or m.scheduled_for),
            "page_id": self.page_id,
            "incident_updates": self._updates(m.updates, "mu", ident),
            "components": self._affected(m.affected),
            "scheduled_for": _time(m.scheduled_for),
            "scheduled_until": _time(m.scheduled_until),
        }

    def page(self) -> dict:
        return _page(self.summary.page)

    def status(self) -> dict:
        overall = self.summary.overall
        return {"indicator": overall.indicator, "description": overall.description}


def _body(build: Callable[[Shapes], dict]) -> Callable[[], bytes]:
    def render() -> bytes:
        shapes = Shapes(public.public_summary(with_history=False))
        data = {"page": shapes.page(), **build(shapes)}
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    return render


def _endpoint(name: str, build: Callable[[Shapes], dict], snapshot: str | None = None):
    @require_http_methods(["GET", "HEAD", "OPTIONS"])
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = "If-None-Match"
            response["Access-Control-Max-Age"] = "86400"
        else:
            response = serve(
                request, f"v2:{name}", _body(build), content_type=JSON, snapshot=snapshot
            )
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "ETag, X-Status-Stale"
        return response

    view.__name__ = view.__qualname__ = f"v2_{name.replace('/', '_').replace('-', '_')}"
    return view


def _summary(s: Shapes) -> dict:
    sm = s.summary
    maintenances = [*sm.active_maintenances, *sm.upcoming_maintenances]
    return {
        "components": s.components,
        "incidents": [s.incident(i) for i in sm.active_incidents],
        "scheduled_maintenances": [s.maintenance(m) for m in maintenances],
        "status": s.status(),
    }


def _incidents(s: Shapes) -> dict:
    return {"incidents": [s.incident(i) for i in public.public_incidents(limit=RECENT)]}


def _maintenances(s: Shapes) -> dict:
    found = public.public_maintenances(limit=RECENT)
    return {"scheduled_maintenances": [s.maintenance(m) for m in found]}


urlpatterns = [
    path(
        "summary.json",
        _endpoint("summary", _summary, snapshot=SNAPSHOT_SUMMARY),
        name="v2-summary",
    ),
    path("status.json", _endpoint("status", lambda s: {"status": s.status()}), name="v2-status"),
    path(
        "components.json",
        _endpoint("components", lambda s: {"components": s.components}),
        name="v2-components",
    ),
    path("incidents.json", _endpoint("incidents", _incidents), name="v2-incidents"),
    path(
        "incidents/unresolved.json",
        _endpoint(
            "incidents/unresolved",
            lambda s: {"incidents": [s.incident(i) for i in s.summary.active_incidents]},
        ),
        name="v2-incidents-unresolved",
    ),
    path(
        "scheduled-maintenances.json",
        _endpoint("scheduled-maintenances", _maintenances),
        name="v2-maintenances",
    ),
    path(
        "scheduled-maintenances/upcoming.json",
        _endpoint(
            "scheduled-maintenances/upcoming",
            lambda s: {
                "scheduled_maintenances": [
                    s.maintenance(m) for m in s.summary.upcoming_maintenances
                ]
            },
        ),
        name="v2-maintenances-upcoming",
    ),
    path(
        "scheduled-maintenances/active.json",
        _endpoint(
            "scheduled-maintenances/active",
            lambda s: {
                "scheduled_maintenances": [s.maintenance(m) for m in s.summary.active_maintenances]
            },
        ),
        name="v2-maintenances-active",
    ),
]
