"""The sandbox delivers webhooks (`fcaudit sandbox serve --webhook-url URL --webhook-secret S`):
each event the control endpoint creates is POSTed to URL, signed as Stripe signs, and a
delivery that fails is retried, as Stripe does.

Stripe's scheme (https://docs.stripe.com/webhooks#verify-manually): `Stripe-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`, the time being that of
the attempt (a retry is signed anew). Stripe retries with an exponential back-off for up to
three days (https://docs.stripe.com/webhooks#retries); the sandbox retries after 0.5 s,
1 s, 2 s, ... (at most 30 s apart) for up to MAX_ATTEMPTS attempts, then says on stderr that
it gave up. Signed here with the standard library: the sandbox plays Stripe, and `listen`
checks it with stripe-python's own verification, so the two meet only in the scheme.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, TextIO

MAX_ATTEMPTS = 12
TIMEOUT = 10.0


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header of `payload` at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookSender:
    """Delivers events in the order given, on a thread of its own; retries what failed."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        err: TextIO | None = None,
        clock: Callable[[], float] = time.time,
        first_retry: float = 0.5,
    ) -> None:
        self.url = url
        self._secret = secret
        self._err = err
        self._clock = clock
        self._first_retry = first_retry
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, int, bytes]] = []  # (when, order, attempt, body)
        self._order = 0
        self._closed = False
        self.delivered = 0
        self.attempts = 0
        self.given_up = 0
        # No proxy: the receiver is the operator's own (a proxy for the Internet would
        # not reach 127.0.0.1).
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def send(self, events: Iterable[dict[str, Any]]) -> None:
        """Queue each event for delivery now."""
        now = time.monotonic()
        with self._cond:
            for event in events:
                body = json.dumps(event).encode()
                heapq.heappush(self._due, (now, self._order, 1, body))
                self._order += 1
            self._cond.notify()

    def close(self) -> None:
        """Stop; what is still waiting for a retry is not delivered."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(TIMEOUT + 1)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._due and self._due[0][0] <= time.monotonic():
                        break
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, order, attempt, body = heapq.heappop(self._due)
            if self._post(body):
                self.delivered += 1
                continue
            if attempt >= MAX_ATTEMPTS:
                self.given_up += 1
                self._say(f"gave up delivering an event to {self.url} after {attempt} attempts")
                continue
            delay = min(30.0, self._first_retry * 2 ** (attempt - 1))
            with self._cond:
                heapq.heappush(self._due, (time.monotonic() + delay, order, attempt + 1, body))

    def _post(self, body: bytes) -> bool:
        self.attempts += 1
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature_header(body, self._secret, int(self._clock())),
            },
        )
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _say(self, message: str) -> None:
        stream = self._err or sys.stderr
        try:
            stream.write(f"fcaudit sandbox: {message}\n")
            stream.flush()
        except (OSError, ValueError):
            pass
