"""The HTTP transport: one deadline per request, no redirect to another origin, the CA bundle
the operator names, and what kind of failure a network error is."""

from __future__ import annotations

import contextlib
import http.cookiejar
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from fcaudit.errors import UsageError
from fcaudit.stripe.failures import TIPS, Failure
from fcaudit.text import safe

MAX_REDIRECTS = 5  # same-origin redirects followed per request
# The CA bundle fcaudit verifies TLS with instead of stripe-python's own: requests' variable
# (stripe-python passes its bundle explicitly, so requests alone would never read it).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


class DeadlineExceeded(requests.exceptions.Timeout):
    """No complete response (connect, headers and body) within the request's deadline."""


class RedirectRefused(requests.exceptions.RequestException):
    """A redirect fcaudit will not follow (another host or port, or a loop); not retried."""


class CertificateRejected(requests.exceptions.SSLError):
    """The server's TLS certificate does not verify, or TLS failed: not transient, so never
    retried. The message names the host and the cause; `tip` is the fix for that cause."""

    def __init__(self, message: str, tip: str = TIPS[Failure.TLS_HANDSHAKE]) -> None:
        super().__init__(message)
        self.tip = tip


_TRUST = TIPS[Failure.TLS]  # an issuer this machine does not trust: a CA bundle helps
_CLOCK = (
    "check this machine's clock; if it is right, the server's (or a TLS-intercepting "
    "proxy's) certificate must be renewed"
)
_NAME = "check the host in --api-base: it must be a name the certificate was made for"
# OpenSSL's verify codes (X509_V_ERR_*) in plain words, and what fixes each.
_TLS_CAUSES = {
    9: ("the certificate is not valid yet", _CLOCK),
    10: ("the certificate has expired", _CLOCK),
    18: ("the certificate is self-signed", _TRUST),
    19: ("a self-signed certificate in the chain", _TRUST),
    2: ("the certificate is issued by an unknown authority", _TRUST),
    20: ("the certificate is issued by an unknown authority", _TRUST),
    21: ("the certificate is issued by an unknown authority", _TRUST),
    62: ("the certificate was made for another host name", _NAME),
    64: ("the certificate was made for another address", _NAME),
}


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and everything behind it: causes, contexts, urllib3's `reason`."""
    todo: list[BaseException] = [exc] if exc is not None else []
    seen: set[int] = set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        more = [e.__cause__, e.__context__, getattr(e, "reason", None), *getattr(e, "args", ())]
        todo += [m for m in more if isinstance(m, BaseException)]


def tls_failure(exc: BaseException, url: str) -> CertificateRejected:
    """A TLS error as one line: the host and port, and why (expired, self-signed, ...)."""
    _, host, port = origin(url)
    where = f"{host}:{port}"
    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            said = str(e.verify_message or e.reason).rstrip(".")
            cause, fix = _TLS_CAUSES.get(e.verify_code, (said, _TRUST))
            return CertificateRejected(
                f"the TLS certificate of {where} does not verify: {cause}", fix
            )
    reason = next((e.reason for e in _chain(exc) if isinstance(e, ssl.SSLError)), None)
    if reason == "WRONG_VERSION_NUMBER":  # what a server answering without TLS looks like
        reason = "the server there does not speak TLS: plain http?"
    return CertificateRejected(f"TLS with {where} failed ({reason or 'handshake failed'})")


def failure_of(exc: BaseException | None) -> Failure:
    """The kind of a network failure, from the exceptions behind it."""
    chain = list(_chain(exc))

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if has(ssl.SSLCertVerificationError):
        return Failure.TLS
    if has(CertificateRejected, ssl.SSLError):
        return Failure.TLS_HANDSHAKE
    if has(RedirectRefused):
        return Failure.REDIRECT
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return Failure.PROXY
    if has(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return Failure.DNS
    if has(ConnectionRefusedError):
        return Failure.REFUSED
    # urllib3's NewConnectionError is a ConnectTimeoutError by descent, whatever its cause.
    timeouts = (DeadlineExceeded, TimeoutError, urllib3.exceptions.TimeoutError)
    if any(
        isinstance(e, timeouts) and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in chain
    ):
        return Failure.TIMEOUT
    return Failure.NETWORK


def _plain_loopback(url: str) -> bool:
    scheme, host, _ = origin(url)
    host = host.strip("[]")
    if scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) names, checked before any request;
    None: stripe-python's own bundle."""
    env = os.environ if environ is None else environ
    for name in CA_BUNDLE_VARIABLES:
        path = env.get(name, "").strip()
        if not path:
            continue
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise UsageError(
                f"{name}={safe(path, limit=200)} is not a readable file. Tip: point it at a "
                "file of CA certificates (PEM), or unset it to use Stripe's own."
            )
        return path
    return None


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


_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        # Through HTTPS_PROXY too, each request's connections are under its deadline.
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


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

    def __init__(
        self, deadline_seconds: float, pool_size: int = 128, ca_bundle: str | None = None
    ) -> None:
        super().__init__()
        self.deadline_seconds = deadline_seconds
        self.ca_bundle = ca_bundle  # None: the bundle stripe-python passes
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send one request under the deadline, following same-origin redirects only."""
        kwargs["allow_redirects"] = False
        if self.ca_bundle and kwargs.get("verify") is not False:
            kwargs["verify"] = self.ca_bundle
        if _plain_loopback(url):
            # Plain http goes to this machine's loopback only (the embedded sandbox, a local
            # --api-base), which no proxy can reach: an HTTP_PROXY set for the Internet must
            # not take these requests. (https to loopback follows HTTPS_PROXY and NO_PROXY.)
            kwargs["proxies"] = {"http": None, "https": None}
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
            except requests.exceptions.SSLError as err:
                raise tls_failure(err, url) from err
            except Exception:
                if deadline.expired:
                    raise DeadlineExceeded(
                        f"no complete response within {deadline.seconds:g} s"
                    ) from None
                raise
