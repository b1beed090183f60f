"""A local, Stripe-compatible HTTP server for the read-only subset fcaudit uses.

Standard library only: ``ThreadingHTTPServer`` speaking HTTP/1.1 with ``Content-Length`` so
clients keep connections alive. Responses follow Stripe's envelopes (list objects, error hashes,
``Request-Id`` headers) and its version gating: preview-only fields and the authorizations
endpoint exist only when ``Stripe-Version`` ends in ``.preview``.
"""

from __future__ import annotations

import json
import secrets
import select
import socket
import socketserver
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

from fcaudit.options import is_loopback
from fcaudit.sandbox import control
from fcaudit.sandbox.api import (
    Api,
    ApiError,
    Endpoint,
    Request,
    parse_query,
    unknown_stripe_account,
    unrecognized,
)
from fcaudit.sandbox.auth import SANDBOX_API_KEY, authenticate, check_version
from fcaudit.sandbox.data import DEFAULT_CONNECTED_CUSTOMERS, DEMO, Dataset, build_dataset
from fcaudit.sandbox.faults import Cue, FaultConfig, FaultInjector

__all__ = [
    "SANDBOX_API_KEY",
    "RunningSandbox",
    "SandboxServer",
    "SandboxStats",
    "running_sandbox",
    "start_sandbox",
]

DEFAULT_GA_VERSION: Final = "2026-10-28.endive"


class SandboxStats:
    """Thread-safe request counters (``/v1/*`` and other non-helper paths)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._dropped = 0
        self._stalled = 0
        self._by_endpoint: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()

    def record(self, endpoint: str, status: int | None) -> None:
        """Count one request; ``status=None`` means the connection was dropped."""
        with self._lock:
            self._requests += 1
            self._by_endpoint[endpoint] += 1
            if status is None:
                self._dropped += 1
            else:
                self._by_status[str(status)] += 1

    def stall_started(self) -> None:
        """Count a request held by a ``stall`` cue (counted when the stall begins)."""
        with self._lock:
            self._stalled += 1

    def reset(self) -> None:
        """Zero every counter (the control endpoint's ``reset_stats``, between two runs)."""
        with self._lock:
            self._requests = self._dropped = self._stalled = 0
            self._by_endpoint.clear()
            self._by_status.clear()

    @property
    def requests(self) -> int:
        """Requests counted so far, dropped ones included."""
        return self._requests

    @property
    def dropped(self) -> int:
        """Requests whose connection was dropped instead of answered."""
        return self._dropped

    @property
    def stalled(self) -> int:
        """Requests a ``stall`` cue held."""
        return self._stalled

    @property
    def by_endpoint(self) -> dict[str, int]:
        """A copy of the request counts per endpoint (``"GET /v1/customers"``)."""
        with self._lock:
            return dict(self._by_endpoint)

    @property
    def by_status(self) -> dict[str, int]:
        """A copy of the answered requests' counts per HTTP status (as a string)."""
        with self._lock:
            return dict(self._by_status)

    def snapshot(self) -> dict[str, Any]:
        """The ``/__sandbox/stats`` document."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_endpoint": dict(self._by_endpoint),
                "by_status": dict(self._by_status),
                "dropped": self._dropped,
                "stalled": self._stalled,
            }


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server; holds the data set, the fault injector and the counters."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        dataset: Dataset,
        faults: FaultInjector,
        *,
        family: socket.AddressFamily = socket.AF_INET,
        require_account_filter: bool = False,
    ) -> None:
        self.address_family = family
        self.dataset = dataset
        self.faults = faults
        self.stats = SandboxStats()
        self.api = Api(dataset, require_account_filter=require_account_filter)
        # Each connected account's endpoints (its own data set), made on its first request.
        self._connected_apis: dict[str, Api] = {}
        self._connected_lock = threading.Lock()
        # Set when the sandbox stops: ends stalls and latency waits at once.
        self.closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Report a handler's exception on stderr, unless the client merely went away."""
        # A client that goes away mid-answer (timeout, Ctrl-C, `| head`) is normal traffic,
        # not a server error: no traceback on stderr. Anything else is still reported.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def server_bind(self) -> None:
        """Bind the listening socket and record its host and port, without a DNS lookup."""
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); not needed on loopback.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track a new connection, so :meth:`close_connections` can wake it, and serve it."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a finished connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads idling on keep-alive connections so they exit."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def api_for(self, stripe_account: str | None) -> Api | None:
        """The endpoints a request reads: the platform's, or (with a Stripe-Account header)
        that connected account's; None for an account the platform does not have."""
        if not stripe_account:
            return self.api
        with self._connected_lock:
            api = self._connected_apis.get(stripe_account)
        if api is not None:
            return api
        dataset = self.dataset.connected(stripe_account)
        if dataset is None:
            return None
        api = Api(
            dataset,
            require_account_filter=self.api.require_account_filter,
            account_id=stripe_account,
        )
        with self._connected_lock:
            return self._connected_apis.setdefault(stripe_account, api)

    @property
    def base_url(self) -> str:
        """The URL clients reach the sandbox at (an IPv6 host in brackets)."""
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fcaudit-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    _request_id = ""

    @property
    def sandbox(self) -> SandboxServer:
        """The server, typed as the sandbox's (data set, faults, counters)."""
        assert isinstance(self.server, SandboxServer)
        return self.server

    def version_string(self) -> str:
        """The ``Server`` header: the sandbox's name, without Python's version."""
        return self.server_version

    def setup(self) -> None:
        """Set up the connection's streams, with Nagle's algorithm off."""
        super().setup()
        # Headers and body are written separately; without NODELAY Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Write nothing: http.server's per-request log lines would clutter stderr."""

    def do_GET(self) -> None:
        """Answer a request of any method: all go through one dispatch (GET-only endpoints
        answer other methods with a 405)."""
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _discard_body(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def _send(
        self, status: int, body: dict[str, Any], headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", self._request_id)
        version = self.headers.get("Stripe-Version")
        self.send_header("Stripe-Version", version or DEFAULT_GA_VERSION)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self) -> None:
        self._request_id = "req_" + secrets.token_hex(7)
        split = urlsplit(self.path)
        path = split.path
        if path == control.CONTROL_PATH:  # a sandbox feature: changes data between runs
            self._control()
            return
        self._discard_body()
        if path.startswith("/__sandbox/"):
            self._helper(path)
            return
        server = self.sandbox
        routed = server.api.route(path)
        endpoint = f"{self.command} {routed[0] if routed else '(unmatched)'}"
        answer = self._answer(path, split.query, routed)
        # Counted before the answer is written, so a client that has its answer sees it counted.
        server.stats.record(endpoint, answer[0] if answer else None)
        if answer is not None:
            self._send(*answer)

    def _control(self) -> None:
        try:
            host = str(self.client_address[0])
            status, body = control.handle(
                self.sandbox, self.command, host, self.headers, self.rfile
            )
        except ApiError as err:
            self.close_connection = True  # the body may not have been read
            self._send(err.status, err.body(self._request_id), err.headers)
            return
        self._send(status, body)

    def _helper(self, path: str) -> None:
        server = self.sandbox
        if self.command != "GET":
            self._send(405, ApiError(405, "Method not allowed.").body(self._request_id))
        elif path == "/__sandbox/stats":
            self._send(200, {**server.stats.snapshot(), "cues_left": server.faults.cues_left()})
        elif path == "/__sandbox/truth":
            # With a Stripe-Account header: that connected account's own truth.
            api = server.api_for(self.headers.get("Stripe-Account"))
            if api is None:
                account = str(self.headers.get("Stripe-Account"))
                self._send(403, unknown_stripe_account(account).body(self._request_id))
            else:
                self._send(200, api.ds.truth())
        else:
            self._send(404, unrecognized(self.command, path).body(self._request_id))

    def _answer(
        self,
        path: str,
        query: str,
        routed: tuple[str, Endpoint, dict[str, str]] | None,
    ) -> tuple[int, dict[str, Any], Sequence[tuple[str, str]]] | None:
        """(status, body, headers) for one non-helper request, or None to drop the connection."""
        server = self.sandbox
        faults = server.faults
        try:
            if path.startswith("/v1/"):
                cue = faults.cue(routed[0] if routed else path, path)
                if cue == "stall":
                    server.stats.stall_started()
                    self._stall()
                if cue in ("stall", "drop") or faults.should_drop():
                    self.close_connection = True
                    return None
                endpoint = f"{self.command} {routed[0] if routed else '(unmatched)'}"
                with faults.in_flight(endpoint) as room:
                    # Too many in flight is refused on arrival; everything else is answered
                    # after the latency.
                    delay = faults.delay_seconds() if room else 0.0
                    if delay:
                        server.closing.wait(delay)
                first = faults.first_attempt(f"{path}?{query}")
                refusal = (
                    _CUE_REASONS.get(cue or "")
                    or _CUE_REASONS.get(first or "")
                    or faults.refusal(endpoint)
                )
                if refusal is None and not room:
                    refusal = "endpoint-concurrency"
                if refusal is not None:
                    raise _rate_limited(refusal)
                if "lock-timeout" in (cue, first):
                    raise _lock_timeout()
                injected = int(cue) if cue in ("500", "503") else faults.error_status()
                if injected is not None:
                    raise _api_error(injected)
                authenticate(self.headers.get("Authorization"))
                account = self.headers.get("Stripe-Account")
                if account:  # a connected account's request reads its own data set
                    api = server.api_for(account)
                    if api is None:
                        raise unknown_stripe_account(account)
                    routed = api.route(path)
            if routed is None:
                raise unrecognized(self.command, path)
            if self.command != "GET":
                raise ApiError(
                    405,
                    f"The {self.command} method is not allowed for this URL; the fcaudit "
                    "sandbox is read-only and supports GET only.",
                    headers=(("Allow", "GET"),),
                )
            _template, handler, match = routed
            params, lists = parse_query(query)
            version = check_version(self.headers.get("Stripe-Version") or "")
            req = Request(
                method=self.command,
                path=path,
                params=params,
                lists=lists,
                preview=version.strip().endswith(".preview"),
                match=match,
            )
            body = handler(req)
        except ApiError as err:
            return err.status, err.body(self._request_id), err.headers
        except Exception:  # pragma: no cover - a bug in the sandbox: answer like Stripe would
            bug = ApiError(
                500, "An unknown error occurred in the fcaudit sandbox.", type_="api_error"
            )
            return 500, bug.body(self._request_id), ()
        return 200, body, ()

    def _stall(self) -> None:
        """Hold the request without an answer until the client closes the connection (it gave
        up: a timeout, an interrupt) or the sandbox stops."""
        conn = self.connection
        closing = self.sandbox.closing
        while not closing.is_set():
            try:
                readable, _, _ = select.select([conn], [], [], 0.05)
                if readable and not conn.recv(1, socket.MSG_PEEK):
                    return  # the client closed its end
            except (OSError, ValueError):
                return  # reset, or closed by the sandbox stopping
            if readable:
                return  # the client sent more bytes: stop holding this one


# The cues that answer a rate-limit 429, and the Stripe-Rate-Limited-Reason each sends.
_CUE_REASONS = {
    "429": "endpoint-rate",
    "429-global": "global-rate",
    "429-concurrency": "endpoint-concurrency",
}


def _rate_limited(reason: str) -> ApiError:
    """Stripe's rate-limit 429, naming the limit hit (https://docs.stripe.com/rate-limits)."""
    return ApiError(
        429,
        "Request rate limit exceeded. You can learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        headers=(("Stripe-Rate-Limited-Reason", reason),),
    )


def _lock_timeout() -> ApiError:
    """A 429 that is not a rate limit: no Stripe-Rate-Limited-Reason, code lock_timeout."""
    return ApiError(
        429,
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. Please retry your request.",
        code="lock_timeout",
    )


def _api_error(status: int) -> ApiError:
    if status == 503:
        return ApiError(
            503,
            "The Stripe API is temporarily unavailable (injected by the fcaudit sandbox). "
            "Please retry your request.",
            type_="api_error",
        )
    return ApiError(
        status,
        "An unknown error occurred while processing your request (injected by the fcaudit "
        "sandbox).",
        type_="api_error",
    )


# ---------------------------------------------------------------------------------------------
# Running it


class RunningSandbox:
    """A sandbox serving from a background thread. Use :func:`running_sandbox` to get one."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self._thread = threading.Thread(
            # A short poll keeps close() quick (tests start and stop many sandboxes).
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    @property
    def base_url(self) -> str:
        """The URL to give a Stripe client (``base_addresses``) or an HTTP client."""
        return self.server.base_url

    @property
    def port(self) -> int:
        """The port the sandbox listens on (the one the OS picked for port 0)."""
        return int(self.server.server_address[1])

    @property
    def dataset(self) -> Dataset:
        """The data set served, with its ground truth (:meth:`Dataset.truth`)."""
        return self.server.dataset

    @property
    def stats(self) -> SandboxStats:
        """The request counters, as ``/__sandbox/stats`` reports them."""
        return self.server.stats

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, close open connections and the listening socket."""
        if self._closed:
            return
        self._closed = True
        self.server.closing.set()
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join(timeout=5)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def start_sandbox(
    *,
    host: str = "127.0.0.1",
    seed: int = 42,
    customers: int = 300,
    port: int = 0,
    latency_ms: float = 0,
    jitter_ms: float = 0,
    rate_limit: float | None = None,
    endpoint_rate_limit: float | None = None,
    error_rate: float = 0,
    drop_rate: float = 0,
    lock_timeout_rate: float = 0,
    concurrency_429_rate: float = 0,
    max_in_flight: int | None = None,
    now: datetime | None = None,
    scenario: str = DEMO,
    cues: Iterable[Cue | str] = (),
    fc_share: float | None = None,
    connected_customers: int = DEFAULT_CONNECTED_CUSTOMERS,
    require_account_filter: bool = False,
) -> RunningSandbox:
    """Build the data set and start serving it; call ``.close()`` when done.

    ``scenario`` picks the names (``"demo"`` or ``"adversarial"``, see
    :func:`~fcaudit.sandbox.data.build_dataset`); ``cues`` script faults for given requests
    (:class:`~fcaudit.sandbox.faults.Cue` objects or ``"KIND:COUNT[@PATH]"`` strings).
    A fleet: ``fc_share`` of the customers have FC accounts; ``connected_customers`` sizes
    each connected account's own data set; ``require_account_filter`` refuses the
    unfiltered account list with a 400, as a Stripe requiring a filter would.
    """
    config = FaultConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rate_limit=rate_limit,
        endpoint_rate_limit=endpoint_rate_limit,
        error_rate=error_rate,
        drop_rate=drop_rate,
        lock_timeout_rate=lock_timeout_rate,
        concurrency_429_rate=concurrency_429_rate,
        max_in_flight=max_in_flight,
        seed=seed,
        cues=tuple(c if isinstance(c, Cue) else Cue.parse(c) for c in cues),
    )
    if host == "localhost":
        host = "127.0.0.1"
    # Defence in depth: the CLI refuses other hosts too, but no caller may bind elsewhere.
    if not is_loopback(host):
        raise ValueError(f"the sandbox binds to loopback addresses only, not {host!r}")
    dataset = build_dataset(
        seed,
        customers,
        now or datetime.now(UTC),
        scenario=scenario,
        fc_share=fc_share,
        connected_customers=connected_customers,
    )
    server = SandboxServer(
        (host, port),
        dataset,
        FaultInjector(config),
        family=_family(host),
        require_account_filter=require_account_filter,
    )
    return RunningSandbox(server)


# `with running_sandbox(...) as sandbox:` serves for the duration of the block (the same
# keyword arguments as start_sandbox; RunningSandbox closes itself on exit).
running_sandbox = start_sandbox
