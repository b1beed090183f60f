"""The HTTP transport: one deadline per request, and no redirect to another origin."""

from __future__ import annotations

import contextlib
import http.cookiejar
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 5  # same-origin redirects followed per request


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete response (connect, headers and body) within the request's deadline."""


class RedirectRefused(requests.exceptions.RequestException):
    """A redirect fcaudit will not follow (another host or port, or a loop); not retried."""


class _Deadline:
    """The connections one request uses, shut down by a timer when its deadline passes.

    A socket timeout bounds each read, not the request: a server trickling one byte per
    second keeps a request alive for ever. Shutting the socket down ends the read at once.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _Deadline._current.value = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _Deadline._current.value = None

    @classmethod
    def track(cls, conn: HTTPConnection) -> None:
        deadline: _Deadline | None = getattr(cls._current, "value", None)
        if deadline is not None:
            with deadline._lock:
                deadline._connections.append(conn)
                expired = deadline.expired
            if expired:
                _shut(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for conn in connections:
            _shut(conn)


def _shut(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        # The plain socket's shutdown, also under TLS: ends a blocked read in any thread.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _Deadline.track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _Deadline.track(self)
        super().request(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPPool,
            "https": _TrackedHTTPSPool,
        }


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as the HTTP stack reads the URL, default ports made explicit."""
    parsed = urllib3.util.parse_url(url)
    scheme = (parsed.scheme or "").lower()
    port = parsed.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parsed.host or "").lower(), port


class GuardedSession(requests.Session):
    """The session under stripe-python: every request has a total deadline, redirects are
    followed only within the same origin (scheme, host, port) and at most `MAX_REDIRECTS`
    times, and no cookie a server sets is ever sent back."""

    _last = threading.local()

    @classmethod
    def last_headers(cls) -> Mapping[str, str]:
        """This thread's last response headers: the SDK drops them from some errors."""
        return getattr(cls._last, "headers", None) or {}

    def __init__(self, deadline_seconds: float, pool_size: int = 128) -> None:
        super().__init__()
        self.deadline_seconds = deadline_seconds
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send one request under the deadline, following same-origin redirects only."""
        kwargs["allow_redirects"] = False
        GuardedSession._last.headers = None
        with _Deadline(self.deadline_seconds) as deadline:
            try:
                for _ in range(MAX_REDIRECTS + 1):
                    response = super().request(method, url, *args, **kwargs)
                    if deadline.expired:  # a body cut short by the shutdown is no body
                        raise DeadlineExceeded(
                            f"no complete response within {deadline.seconds:g} s"
                        )
                    GuardedSession._last.headers = response.headers
                    if not response.is_redirect:
                        return response
                    target = urljoin(url, response.headers.get("location", ""))
                    response.close()
                    if origin(target) != origin(url):
                        where = urlsplit(target).netloc or target
                        raise RedirectRefused(
                            f"the API redirected to another host or port ({where}); fcaudit "
                            "does not follow it"
                        )
                    url = target
                raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects (a redirect loop)")
            except (RedirectRefused, DeadlineExceeded):
                raise
            except Exception:
                if deadline.expired:
                    raise DeadlineExceeded(
                        f"no complete response within {deadline.seconds:g} s"
                    ) from None
                raise
