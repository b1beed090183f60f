"""``POST /__sandbox/control``: change the sandbox's data between two runs.

A sandbox feature for tests and demos, not part of Stripe's API (fcaudit itself only ever
sends GET requests to Stripe). Loopback clients only. The request is a JSON object::

    {"deactivate": 2, "disconnect": 1, "reactivate": 2, "move_expected_dates": 1,
     "link_new": 1, "seed": 7, "ago": 7200, "pending_webhooks": 1, "reset_stats": true}

Every key is optional. The counts say how many accounts each operation changes (see
:data:`~fcaudit.sandbox.data.OPERATIONS`): ``deactivate`` (active -> relink_required),
``disconnect`` (active -> disconnected), ``reactivate`` (inactive -> active),
``move_expected_dates`` (expiring: the date moves to tomorrow noon, still expiring but
sooner) and ``link_new`` (a new authorization with one active account at a customer). The
accounts are chosen deterministically from ``seed`` and the data set's state, and each
change appends the event Stripe sends for it, ``ago`` seconds before the sandbox's ``now``
(never before the newest event) and one second apart, with ``pending_webhooks`` as given
(default: drawn as in the generated history). ``reset_stats`` zeroes the request counters of
``/__sandbox/stats`` after the change (to count the requests of the next run).

The answer (200)::

    {"changed": [{"id", "object", "operation", "holder", "before", "after", "change",
                  "resolved", "event"}, ...],
     "resolved": [account ids that needed attention and are active now],
     "events": [{"id", "type", "object_id", "created", "pending_webhooks"}, ...]}

``before``/``after`` are truth categories (``before`` null for a new account); ``change`` is
what a run compared with a report of the previous state must say (new / worse / same /
better). ``GET /__sandbox/truth`` gives the updated truth. Nothing is changed when the request
is refused (400, Stripe's error shape): an unknown key, a count that is not a non-negative
integer, or more accounts than an operation can change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from email.message import Message
from io import BufferedIOBase
from typing import TYPE_CHECKING, Any, Final

from fcaudit.options import is_loopback
from fcaudit.sandbox.api import ApiError
from fcaudit.sandbox.data import CONTROL_OPERATIONS, apply_changes

if TYPE_CHECKING:
    from fcaudit.sandbox.server import SandboxServer

CONTROL_PATH: Final = "/__sandbox/control"
MAX_BODY: Final = 64 * 1024
_OPTIONS: Final = ("seed", "ago", "pending_webhooks")
_KEYS: Final = frozenset({*CONTROL_OPERATIONS, *_OPTIONS, "reset_stats"})
MAX_COUNT: Final = 10_000

# One change at a time (a change rebuilds indexes the API reads).
_LOCK = threading.Lock()


def _count(body: Mapping[str, Any], key: str, default: int | None, high: int) -> int | None:
    value = body.get(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise ApiError(400, f"{key} must be an integer from 0 to {high}", param=key)
    return value


def read_body(headers: Message, rfile: BufferedIOBase) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body)."""
    try:
        length = int(headers.get("Content-Length") or 0)
    except ValueError:
        length = -1
    if headers.get("Transfer-Encoding") or not 0 <= length <= MAX_BODY:
        raise ApiError(400, f"send a JSON object of at most {MAX_BODY} bytes with Content-Length")
    raw = rfile.read(length) if length else b""
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def control(server: SandboxServer, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one control request to ``server``'s data set; the 200 answer."""
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise ApiError(
            400,
            f"Received unknown parameter: {unknown[0]} (known: {', '.join(sorted(_KEYS))})",
            code="parameter_unknown",
            param=unknown[0],
        )
    counts = {k: _count(body, k, 0, MAX_COUNT) or 0 for k in CONTROL_OPERATIONS}
    seed = _count(body, "seed", 0, 2**31) or 0
    ago = _count(body, "ago", 0, 30 * 86_400) or 0
    pending = _count(body, "pending_webhooks", None, 100)
    reset = body.get("reset_stats", False)
    if not isinstance(reset, bool):
        raise ApiError(400, "reset_stats must be true or false", param="reset_stats")
    with _LOCK:
        try:
            changed, events = apply_changes(
                server.dataset, counts, seed=seed, ago=ago, pending_webhooks=pending
            )
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        server.api.reindex_events()
        if reset:
            server.stats.reset()
        sender = getattr(server, "webhooks", None)  # --webhook-url: posted as Stripe would
        if sender is not None:
            sender.send(events)
    return {
        "changed": [c.to_record() for c in changed],
        "resolved": [c.id for c in changed if c.resolved],
        "events": [
            {
                "id": e["id"],
                "type": e["type"],
                "object_id": e["data"]["object"]["id"],
                "created": e["created"],
                "pending_webhooks": e["pending_webhooks"],
            }
            for e in events
        ],
    }


def handle(
    server: SandboxServer,
    method: str,
    client_host: str,
    headers: Message,
    rfile: BufferedIOBase,
) -> tuple[int, dict[str, Any]]:
    """(status, body) for one request to :data:`CONTROL_PATH`; raises :class:`ApiError`."""
    if not is_loopback(client_host):
        raise ApiError(403, "the control endpoint answers loopback clients only")
    if method != "POST":
        raise ApiError(405, "POST a JSON object to change the data (see fcaudit.sandbox.control)")
    return 200, control(server, read_body(headers, rfile))
