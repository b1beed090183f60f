"""TLS and proxies, end to end on 127.0.0.1: a certificate that does not verify is one line
naming the host and the cause (exit 4, one attempt), REQUESTS_CA_BUNDLE makes a private CA
trusted, HTTPS_PROXY tunnels through a CONNECT proxy, and NO_PROXY goes around it.

Certificates are made for each test session with the `openssl` command (no network, no key
material in the repository); the TLS server and the CONNECT proxy are the small ones below.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fcaudit.errors import ExitCode
from fcaudit.stripe.failures import TIPS, Failure
from tests.conftest import report_of, run

SCAN = ("scan", "--discovery", "accounts", "-f", "json", "--fail-on", "none")
# Set for every run: a proxy of the machine's own must not decide where a test connects.
NO_PROXIES = dict.fromkeys(("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"), "") | {
    "NO_PROXY": "",
    "no_proxy": "",
    "REQUESTS_CA_BUNDLE": "",
    "SSL_CERT_FILE": "",
    "CURL_CA_BUNDLE": "",
}


# -- certificates ---------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Certs:
    """A private CA (`ca.pem`) and server certificates (`NAME.pem` with `NAME.key`)."""

    folder: Path

    def pair(self, name: str) -> tuple[Path, Path]:
        return self.folder / f"{name}.pem", self.folder / f"{name}.key"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("tls")
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=fcaudit test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign", cwd=folder)  # fmt: skip
    # By the CA: for 127.0.0.1; for another host name; for 127.0.0.1 but expired.
    for name, san, days in (
        ("good", "IP:127.0.0.1", "2"),
        ("otherhost", "DNS:other.example", "2"),
        ("expired", "IP:127.0.0.1", "-1"),
    ):
        (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        _openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                 f"/CN={name}", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", days, "-extfile",
                 f"{name}.ext", cwd=folder)  # fmt: skip
    _openssl("req", "-x509", *key, "-keyout", "selfsigned.key", "-out", "selfsigned.pem",
             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             cwd=folder)  # fmt: skip
    return Certs(folder)


# -- a TLS server that answers like Stripe's account list -----------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Any = self.server
        server.paths.append(self.path)
        body = json.dumps({"object": "list", "data": [], "has_more": False, "url": "/v1/x"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_tls")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


class TlsServer(ThreadingHTTPServer):
    """Counts connections (TLS handshakes tried) and the paths of requests that got through."""

    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.connections = 0
        self.paths: list[str] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        self.connections += 1
        return super().get_request()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that refuses the certificate closes the connection: expected

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def tls_server(request: pytest.FixtureRequest, certs: Certs) -> Iterator[TlsServer]:
    server = TlsServer(*certs.pair(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# -- a CONNECT proxy ------------------------------------------------------------------------


@dataclass
class ConnectProxy:
    """An HTTP proxy that tunnels CONNECT to 127.0.0.1 only, recording each target."""

    targets: list[str] = field(default_factory=list)
    _sock: socket.socket = field(default_factory=socket.socket)

    def start(self) -> ConnectProxy:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            self.targets.append(f"{method} {target}")
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host != "127.0.0.1":
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _relay(client, upstream)

    def close(self) -> None:
        self._sock.close()


def _relay(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    while True:
        ready, _, _ = select.select(list(peers), [], [], 5)
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
            except OSError:  # a client that refused the certificate resets its end
                return


def _via(proxy: ConnectProxy) -> dict[str, str]:
    # Python reads both spellings, and an empty lowercase one cancels the uppercase one.
    return {"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url}


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    running = ConnectProxy().start()
    yield running
    running.close()


# -- the tests --------------------------------------------------------------------------------


TRUST = TIPS[Failure.TLS]
CLOCK = (
    "check this machine's clock; if it is right, the server's (or a TLS-intercepting "
    "proxy's) certificate must be renewed"
)
NAME = "check the host in --api-base: it must be a name the certificate was made for"


@pytest.mark.parametrize(
    ("tls_server", "cause", "fix"),
    [
        ("selfsigned", "the certificate is self-signed", TRUST),
        ("good", "the certificate is issued by an unknown authority", TRUST),  # no CA bundle
        ("otherhost", "the certificate was made for another address", NAME),
        ("expired", "the certificate has expired", CLOCK),
    ],
    indirect=["tls_server"],
)
def test_a_certificate_that_does_not_verify_is_one_line_and_no_retry(
    tls_server: TlsServer, certs: Certs, cause: str, fix: str
) -> None:
    bundle = {} if cause.endswith("unknown authority") else {"REQUESTS_CA_BUNDLE": str(certs.ca)}
    result = run(*SCAN, "--api-base", tls_server.base_url, **{**NO_PROXIES, **bundle})  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.API
    host = tls_server.base_url.removeprefix("https://")
    assert result.stderr == (
        f"Error: the TLS certificate of {host} does not verify: {cause} (network error). "
        f"Tip: {fix}.\n"
    )
    assert result.stdout == ""
    assert tls_server.connections == 1 and tls_server.paths == []  # one attempt, not 7


@pytest.mark.parametrize("tls_server", ["good"], indirect=True)
def test_requests_ca_bundle_makes_a_private_ca_trusted(tls_server: TlsServer, certs: Certs) -> None:
    env = {**NO_PROXIES, "REQUESTS_CA_BUNDLE": str(certs.ca)}
    result = run(*SCAN, "--api-base", tls_server.base_url, **env)  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.OK, result.stderr
    assert report_of(result)["complete"] is True
    assert tls_server.paths == ["/v1/financial_connections/accounts?limit=100"]


@pytest.mark.parametrize("tls_server", ["good"], indirect=True)
def test_https_proxy_tunnels_and_no_proxy_goes_around_it(
    tls_server: TlsServer, certs: Certs, proxy: ConnectProxy
) -> None:
    env = {**NO_PROXIES, **_via(proxy), "REQUESTS_CA_BUNDLE": str(certs.ca)}
    through = run(*SCAN, "--api-base", tls_server.base_url, **env)  # type: ignore[arg-type]
    assert through.exit_code == ExitCode.OK, through.stderr
    port = tls_server.server_address[1]
    assert proxy.targets == [f"CONNECT 127.0.0.1:{port}"]
    around = run(*SCAN, "--api-base", tls_server.base_url, **{**env, "NO_PROXY": "127.0.0.1"})  # type: ignore[arg-type]
    assert around.exit_code == ExitCode.OK, around.stderr
    assert proxy.targets == [f"CONNECT 127.0.0.1:{port}"]  # the second run did not use it
    assert len(tls_server.paths) == 2


@pytest.mark.parametrize("tls_server", ["selfsigned"], indirect=True)
def test_a_tls_intercepting_proxy_is_named_as_an_unverified_certificate(
    tls_server: TlsServer, proxy: ConnectProxy
) -> None:
    # Through the proxy, the certificate is still checked against the host asked for.
    env = {**NO_PROXIES, **_via(proxy)}
    result = run(*SCAN, "--api-base", tls_server.base_url, **env)  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.API
    assert "does not verify: the certificate is self-signed" in result.stderr
    assert "REQUESTS_CA_BUNDLE" in result.stderr and len(proxy.targets) == 1


def test_a_ca_bundle_that_is_not_a_file_is_refused_before_any_request(tmp_path: Path) -> None:
    missing = tmp_path / "corporate-ca.pem"
    result = run(*SCAN, **{**NO_PROXIES, "REQUESTS_CA_BUNDLE": str(missing)})  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        f"Error: REQUESTS_CA_BUNDLE={missing} is not a readable file. Tip: point it at a file "
        "of CA certificates (PEM), or unset it to use Stripe's own.\n"
    )


def test_the_embedded_sandbox_is_never_asked_through_a_proxy(proxy: ConnectProxy) -> None:
    # An HTTP_PROXY set for the Internet cannot reach this machine's loopback.
    env = {**NO_PROXIES, "HTTP_PROXY": proxy.url, "http_proxy": proxy.url}
    result = run("scan", "--sandbox", "-q", "-f", "json", "--fail-on", "none", **env)  # type: ignore[arg-type]
    assert result.exit_code == ExitCode.OK, result.stderr
    assert proxy.targets == []
