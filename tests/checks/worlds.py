"""Small worlds shared by the engine's tests: a health endpoint to probe, task log lines,
catalog files to import."""

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
