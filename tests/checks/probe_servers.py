"""Real local servers for the probe tests: HTTP(S), TLS and DNS on 127.0.0.1 ephemeral ports.

The servers run on an event loop in a background thread, so a test can drive its probes
with `asyncio.run(...)` in the test's own thread while the server keeps serving.
"""

import asyncio
import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


class LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run[T](self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def stop(self) -> None:
        """Cancel what is still running (a slow handler, say), then stop the loop."""

        async def cancel_the_rest() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@contextmanager
def serving_app(
    app: web.Application, ssl_context: ssl.SSLContext | None = None, host: str = HOST
) -> Iterator[int]:
    """Serve an aiohttp app on `host` (127.0.0.1 unless told); yields the port."""
    thread = LoopThread()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        return int(runner.addresses[0][1])

    try:
        yield thread.run(start())
    finally:
        thread.run(runner.cleanup())
        thread.stop()


type Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def serving_streams(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve a raw stream handler (TCP or TLS) on 127.0.0.1; yields the port."""
    thread = LoopThread()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handler, HOST, 0, ssl=ssl_context)

    server = thread.run(start())
    try:
        yield server.sockets[0].getsockname()[1]
    finally:

        async def stop() -> None:
            server.close()
            server.close_clients()

        thread.run(stop())
        thread.stop()


# --- TLS certificates -------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class LocalCA:
    """A certificate authority made for one test session; issues server certificates."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("statuspage test CA"))
            .issuer_name(_name("statuspage test CA"))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=60))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, names: list[str], *, valid_from: dt.datetime, valid_to: dt.datetime) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
        alt_names.append(x509.IPAddress(ipaddress.ip_address(HOST)))
        ca_public = self.key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def server_context(issued: Issued, directory: Path, stem: str) -> ssl.SSLContext:
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_file.write_bytes(issued.cert_pem)
    key_file.write_bytes(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


# --- DNS ---------------------------------------------------------------------------------


class DnsServer(asyncio.DatagramProtocol):
    """Answers from a fixed table {(name, type): [values]}; unknown names are NXDOMAIN.

    A name in `silent` gets no answer at all (for timeouts).
    """

    def __init__(self, records: dict[tuple[str, str], list[str]], silent: set[str]) -> None:
        self.records = records
        self.silent = silent
        self.names = {name for name, _ in records}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text()
        if name in self.silent or self.transport is None:
            return
        response = dns.message.make_response(query)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        values = self.records.get((name, rdtype))
        if values:
            response.answer.append(dns.rrset.from_text_list(name, 60, "IN", rdtype, values))
        elif name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@contextmanager
def serving_dns(records: dict[tuple[str, str], list[str]], silent: set[str]) -> Iterator[int]:
    """Serve DNS over UDP on 127.0.0.1; yields the port."""
    thread = LoopThread()

    async def start() -> asyncio.DatagramTransport:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: DnsServer(records, silent), local_addr=(HOST, 0)
        )
        return transport

    transport = thread.run(start())
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        thread.loop.call_soon_threadsafe(transport.close)
        thread.stop()
