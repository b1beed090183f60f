"""A small hostile HTTP server for tests: one scripted scenario per case.

Stdlib only, bound to 127.0.0.1, bounded in time (every connection is closed and the server
stops `lifetime` seconds after it started, whatever the client does) and in requests (after
`max_requests` it answers 503 with Stripe-Should-Retry: false).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # bytes are sent as they are; anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float | None = None  # seconds between single bytes of the body


Script = Callable[[Request], Reply]


def listing(data: list[Any], *, has_more: bool = False, url: str = "/v1/x") -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


class HostileServer:
    def __init__(self, script: Script, *, lifetime: float = 5.0, max_requests: int = 300) -> None:
        self.script = script
        self.lifetime = lifetime
        self.max_requests = max_requests
        self.requests: list[Request] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.timeout = 0.2
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        h.connection.settimeout(self.lifetime)
        parts = urlsplit(h.path)
        req = Request(parts.path, dict(parse_qsl(parts.query)), dict(h.headers.items()))
        with self._lock:
            self.requests.append(req)
            over = len(self.requests) > self.max_requests
        reply = (
            Reply(503, b"too many", {"Stripe-Should-Retry": "false"}) if over else self.script(req)
        )
        body = reply.body
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                h.send_header(name, value)
            h.end_headers()
            if reply.trickle is None:
                h.wfile.write(data)
                return
            for i in range(len(data)):
                if self.stopped.wait(reply.trickle):
                    return
                h.wfile.write(data[i : i + 1])
                h.wfile.flush()
        except OSError:
            pass  # the client gave up: fine

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        stopper = threading.Timer(self.lifetime, self._stop)
        stopper.daemon = True
        stopper.start()
        try:
            yield self
        finally:
            stopper.cancel()
            self._stop()
            thread.join(2)

    def _stop(self) -> None:
        if not self.stopped.is_set():
            self.stopped.set()
            self._httpd.shutdown()
            self._httpd.server_close()


@contextmanager
def hostile(script: Script, **kw: Any) -> Iterator[HostileServer]:
    with HostileServer(script, **kw).running() as server:
        yield server


def wait(seconds: float) -> None:
    time.sleep(seconds)
