"""Small worlds shared by the engine's tests: a health endpoint to probe, task log lines,
catalog files to import."""

import json
import textwrap
from io import StringIO
from pathlib import Path

from aiohttp import web
from django.core.management import call_command


def health_app(status: int = 200) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": status == 200}, status=status)

    app = web.Application()
    app.router.add_get("/health", health)
    return app


def task_lines(caplog, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"task={name} ")]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def sync(path: Path, *args: str) -> str:
    stdout, stderr = StringIO(), StringIO()
    call_command("sync_catalog", str(path), *args, stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    return stdout.getvalue()


def one_check_catalog(service, name: str, lines: str) -> str:
    """A catalog file of one service (and its team) with one check: its ``name`` and the
    YAML ``lines`` after it, each indented to sit under the check."""
    body = textwrap.indent(textwrap.dedent(lines).strip(), " " * 8)
    return f"""\
teams:
  - name: {service.team.name}
    slug: {service.team.slug}
services:
  - name: {service.name}
    slug: {service.slug}
    team: {service.team.slug}
    checks:
      - name: {name}
{body}
"""


def check_form_data(name: str, kind: str, **values: str) -> dict[str, str]:
    """What the admin's check form posts for a check of ``kind``, with ``values`` on top."""
    return {
        "name": name,
        "kind": kind,
        "interval_s": "60",
        "timeout_s": "10",
        "failures_before_down": "2",
        "successes_before_up": "1",
        "grace_s": "300",
        "is_enabled": "on",
        **values,
    }


def put_check(client, service, name: str, body: dict) -> tuple[int, dict]:
    """PUT a check through the API with a fresh checks:write token of the service's team."""
    from statuspage.api.services import api_token_create
    from tests.factories import token_owner

    token = api_token_create(
        team=service.team, name="CI", scopes=["checks:write"], created_by=token_owner()
    )[1]
    response = client.put(
        f"/api/v1/services/{service.slug}/checks/{name}",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()
