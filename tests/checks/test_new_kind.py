"""A kind added by its module and one registry line is taken by the API, the YAML import,
the admin form and the runner, with the same messages everywhere.

The kind here, "banner", connects and reads the server's first line (as SMTP or SSH servers
greet), and expects it to start with a given text. It is registered for the test only.
"""

import asyncio
import importlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.management import CommandError

import checks.admin_forms
from checks.kinds import KINDS, CheckKind, Setting
from checks.models import Check, Outcome, Result
from checks.probes.base import ProbeResult, elapsed_ms, timed_out, with_latency
from checks.probes.tcp import connect_screened
from checks.runner import probe_batch_run, runner_close
from checks.scheduling import Claim
from checks.screening import Allowlist
from tests.checks.worlds import check_form_data, one_check_catalog, put_check, sync, write

pytestmark = pytest.mark.django_db


@dataclass(frozen=True, slots=True)
class BannerTarget:
    host: str
    port: int
    expect: str = ""
    degraded_ms: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"port must be between 1 and 65535: {self.port!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be between 1 and 65535: {self.port!r}")


async def banner_probe(
    target: BannerTarget,
    *,
    timeout: float,
    session: object = None,
    allow_private: Allowlist | bool = False,
) -> ProbeResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer, _ = await connect_screened(
                target.host, target.port, allow_private=allow_private
            )
            line = (await reader.readline()).decode(errors="replace").strip()
            writer.close()
            await writer.wait_closed()
    except TimeoutError:
        return ProbeResult.down(timed_out(timeout))
    except OSError as exc:
        return ProbeResult.down(f"connection failed: {exc}")
    if not line.startswith(target.expect):
        return ProbeResult.down(f"banner {line!r} does not start with {target.expect!r}")
    return with_latency(elapsed_ms(started), f"banner {line!r}", target.degraded_ms)


KIND = CheckKind(
    name="banner",
    label="Banner",
    settings=(
        Setting("host", "text", "Host"),
        Setting("port", "int", "Port"),
        Setting("expect", "text", "Banner starts with"),
    ),
    target=BannerTarget,
    probe=banner_probe,
    target_setting="host",
)


BANNER = "kind: banner\n"


@pytest.fixture(autouse=True)
def banner_kind(monkeypatch, settings) -> Iterator[None]:
    settings.CHECK_PRIVATE_TARGETS = ["private", "loopback"]
    monkeypatch.setitem(KINDS, "banner", KIND)
    # The admin form's fields are built when its module loads: load it again with the kind.
    importlib.reload(checks.admin_forms)
    yield
    monkeypatch.undo()
    importlib.reload(checks.admin_forms)
    runner_close()


@pytest.fixture
def banner_port() -> Iterator[int]:
    """A local server that greets each connection with one line."""
    loop = asyncio.new_event_loop()

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mail.example ESMTP ready\r\n")
        await writer.drain()
        writer.close()

    server = loop.run_until_complete(asyncio.start_server(greet, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_the_api_takes_the_new_kind_and_its_settings(client, service):
    config = {"host": "127.0.0.1", "port": 25, "expect": "220"}
    status, body = put_check(client, service, "smtp", {"kind": "banner", "config": config})

    assert status == 201, body
    assert (body["kind"], body["config"]) == ("banner", config)


def test_the_api_the_yaml_and_the_form_refuse_a_bad_setting_with_one_message(
    client, service, tmp_path
):
    message = "port must be between 1 and 65535: 70000"
    status, body = put_check(
        client, service, "smtp", {"kind": "banner", "config": {"host": "h", "port": 70000}}
    )
    assert status == 422
    assert {"field": "config", "message": message} in [
        {"field": e["field"], "message": e["message"]} for e in body["errors"]
    ]

    path = write(tmp_path, one_check_catalog(service, "smtp", BANNER + "host: h\nport: 70000"))
    with pytest.raises(CommandError) as raised:
        sync(path)
    assert f"{path}:12: services[0].checks[0].port: {message}" in str(raised.value)

    form = checks.admin_forms.CheckForm(
        data=check_form_data("smtp", "banner", banner_host="h", banner_port="70000")
    )
    assert not form.is_valid()
    assert form.errors["banner_port"] == [message]


def test_the_yaml_import_takes_the_new_kind(service, tmp_path):
    settings = BANNER + 'host: 127.0.0.1\nport: 25\nexpect: "220"'
    path = write(tmp_path, one_check_catalog(service, "smtp", settings))

    sync(path)

    check = Check.objects.get(service=service)
    assert (check.kind, check.config) == (
        "banner",
        {"host": "127.0.0.1", "port": 25, "expect": "220"},
    )


def test_the_admin_form_offers_the_new_kind_and_saves_its_settings(service):
    form = checks.admin_forms.CheckForm(
        data=check_form_data(
            "smtp", "banner", banner_host="127.0.0.1", banner_port="25", banner_expect="220"
        )
    )

    assert ("banner", "Banner") in form.fields["kind"].choices
    assert form.is_valid(), form.errors
    form.instance.service = service
    check = form.save()
    assert check.config == {"host": "127.0.0.1", "port": 25, "expect": "220"}


def test_the_runner_probes_the_new_kind(service, banner_port):
    check = Check.objects.create(
        service=service,
        name="smtp",
        kind="banner",
        config={"host": "127.0.0.1", "port": banner_port, "expect": "220"},
    )
    slot = int(time.time())

    report = probe_batch_run(claims=[Claim(check_id=check.pk, slot=slot)], now=slot)

    assert (report.probed, report.failed) == (1, 0)
    assert Result.objects.get(check_ref=check).outcome == Outcome.UP
    check.refresh_from_db()
    assert check.last_detail == "banner '220 mail.example ESMTP ready'"
