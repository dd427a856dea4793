"""Browser tests: Debian's Chromium driven by Playwright, against pytest-django's live server.

Fixtures: ``browser_type_launch_args`` (Chromium from the system, flags this machine needs),
``sign_in`` (logs a user in through the real form), ``axe_serious`` (runs axe-core in
the page and returns serious and critical violations) and ``console_errors`` (what the page
logs as an error, a refused script or style included, and uncaught exceptions).
"""

import shutil
from pathlib import Path

import axe_playwright_python
import pytest

from tests.factories import PASSWORD

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(autouse=True)
def _static_by_plain_name(settings):
    """The live server serves static files from the app folders by their plain names, so
    pages under test must link to those names rather than the hashed ones of the manifest
    (which production serves from STATIC_ROOT through WhiteNoise)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is missing: `apt-get install -y chromium` (make test does it as root)"
        )
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_FLAGS}


@pytest.fixture
def desktop(page):
    """The page at a desktop size: the team pages' wide tables show every column."""
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


@pytest.fixture
def sign_in(live_server):
    """sign_in(page, user) logs ``user`` in through the real login form."""

    def _sign_in(page, user, next_path: str = "/") -> None:
        page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")

    return _sign_in


@pytest.fixture
def console_errors(page) -> list[str]:
    errors: list[str] = []

    def console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} {message.location.get('url') or ''}".strip())

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def axe_serious():
    """axe_serious(page) -> the serious and critical accessibility violations on the page."""

    def _run(page) -> list[dict]:
        # Evaluated through the DevTools protocol, which the page's CSP does not govern;
        # a <script> tag would (rightly) be refused by our own script-src policy.
        page.evaluate(AXE_JS.read_text())
        result = page.evaluate("async () => await axe.run(document)")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return _run


@pytest.fixture
def screenshot():
    """screenshot(page, name) keeps a picture of the page in docs/screenshots/NAME.png."""

    def _take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
