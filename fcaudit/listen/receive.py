"""One delivery, from bytes to an answer: verify, parse, resolve, classify, record.

No HTTP here (listen/server.py is the server); every outcome is an `Answer` with the status
Stripe gets. Stripe retries anything but a 2xx for up to three days
(https://docs.stripe.com/webhooks#retries), so whatever was not recorded durably is answered
with a 5xx and arrives again; a delivery that can never be accepted (bad signature,
malformed body) gets a 4xx.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fcaudit.classify import NotClassifiable, classify
from fcaudit.model.findings import SEVERITY, Category, Change, Finding, parse_iso
from fcaudit.sources.journal import Entry, Journal, Recorded
from fcaudit.sources.stored import kept
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.ids import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT, is_stripe_id
from fcaudit.stripe.signature import BadSignature, verify

MAX_BODY = 1024 * 1024  # Stripe's payloads are a few KB; 1 MiB is ample and bounded
FC_OBJECTS = {ACCOUNT_OBJECT: id_kinds.ACCOUNT, AUTHORIZATION_OBJECT: id_kinds.AUTHORIZATION}
# Thin events (event destinations with event_payload=thin) carry no snapshot, only the
# object's id: "you must fetch the versioned event from the API or fetch the resource's
# current state" (https://docs.stripe.com/event-destinations#thin-events).
THIN_OBJECT = "v2.core.event"
RECORD_TIMEOUT = 30.0  # seconds a delivery waits for its batch to be on disk


@dataclass
class Answer:
    """What the delivery gets (status and a short JSON message), and the finding of a
    category change to announce once answered."""

    status: int
    message: str
    change: Finding | None = None
    recorded: bool = False


# Fetches the object a thin event names (a GET): (kind, id, Stripe-Account) -> the object;
# LookupError when it cannot now.
Resolver = Callable[[str, str, str | None], dict[str, Any]]


class Batcher:
    """Records entries from many request threads with one writer: a batch is one
    transaction, so one sync to disk answers every delivery waiting in it."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime], limit: int = 256) -> None:
        self._journal = journal
        self._clock = clock
        self._limit = limit
        self._cond = threading.Condition()
        self._queue: list[tuple[Entry, Future[Recorded]]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def submit(self, entry: Entry) -> Future[Recorded]:
        """Queue an entry; its future is set once its batch is on disk (or failed)."""
        future: Future[Recorded] = Future()
        with self._cond:
            if self._closed:
                future.set_exception(RuntimeError("the journal is closed"))
                return future
            self._queue.append((entry, future))
            self._cond.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            try:
                results = self._journal.record([e for e, _ in batch], self._clock())
            except Exception as err:
                for _, future in batch:
                    future.set_exception(err)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def close(self) -> None:
        """Record what is queued, then stop the writer and close the journal."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self._journal.close()


@dataclass
class Receiver:
    """Turns a delivery into an Answer; thread-safe."""

    secrets: Sequence[str]
    batcher: Batcher
    resolve: Resolver | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    ignored_types: set[str] = field(default_factory=set)

    def receive(self, body: bytes, signature: str | None) -> Answer:
        """The answer to one delivery (never raises for anything in `body` or `signature`)."""
        try:
            verify(body, signature, self.secrets)
        except BadSignature as err:
            return Answer(400, f"signature rejected: {err}")
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            return Answer(400, "the body is not JSON")
        if not isinstance(event, dict):
            return Answer(400, "the body is not a JSON object")
        eid, etype = event.get("id"), event.get("type")
        if not is_stripe_id(eid, id_kinds.EVENT.prefix) or not isinstance(etype, str):
            return Answer(400, "not a Stripe event (no evt_ id or no type)")
        if len(etype) > 200:
            return Answer(400, "the event type is too long")
        try:
            obj, version = self._object(event)
        except LookupError as err:  # a thin event whose object could not be fetched now
            return Answer(503, f"event {eid}: {err}; Stripe will retry")
        except ValueError as err:
            return Answer(400, f"event {eid}: {err}")
        if obj is None:
            # Not about an FC account or authorization: acknowledged, so that Stripe does not
            # retry it for days, and not recorded.
            self.ignored_types.add(etype)
            return Answer(200, f"event {eid} ({etype}) is not about an FC account; ignored")
        return self._record(event, str(eid), etype, obj, version)

    def _object(self, event: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The FC object the event is about (a snapshot, or fetched for a thin event)."""
        if event.get("object") == THIN_OBJECT:
            related = event.get("related_object")
            if not isinstance(related, Mapping):
                raise ValueError("a thin event without related_object")
            kind, oid = related.get("type"), related.get("id")
            if kind not in FC_OBJECTS:
                return None, None
            if not is_stripe_id(oid, FC_OBJECTS[str(kind)].prefix):
                raise ValueError("its related_object has no valid id")
            context = event.get("context")
            account = context if is_stripe_id(context, "acct_") else None
            if self.resolve is None:
                raise LookupError("a thin event needs STRIPE_API_KEY to fetch its object")
            return self.resolve(str(kind), str(oid), account), None
        if event.get("object") != "event":
            raise ValueError("neither an event nor a thin event")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        if not isinstance(obj, dict):
            raise ValueError("an event without data.object")
        if obj.get("object") not in FC_OBJECTS:
            return None, None
        version = event.get("api_version")
        return obj, version if isinstance(version, str) else None

    def _record(
        self, event: Mapping[str, Any], eid: str, etype: str, obj: dict[str, Any], version: Any
    ) -> Answer:
        now = self.clock()
        created = _created(event.get("created"), now)
        kind = str(obj.get("object"))
        oid = obj.get("id")
        if not is_stripe_id(oid, FC_OBJECTS[kind].prefix):
            return Answer(400, f"event {eid}: its object has no valid id")
        account = event.get("account")
        try:
            finding = classify(
                obj,
                now=now,
                stripe_version=version,
                stripe_account=account if is_stripe_id(account, "acct_") else None,
            )
        except NotClassifiable as err:
            return Answer(400, f"event {eid}: {err}")
        finding.event_type = etype
        finding.event_id = eid
        finding.event_created = datetime.fromtimestamp(created, tz=UTC)
        entry = Entry(eid, etype, str(oid), kind, created, str(finding.category), kept(obj))
        try:
            result = self.batcher.submit(entry).result(timeout=RECORD_TIMEOUT)
        except Exception as err:
            return Answer(503, f"event {eid} not recorded ({type(err).__name__}: {err})")
        if result.replay:
            return Answer(200, f"event {eid} was recorded before; nothing changed", recorded=True)
        if not _announced(result):
            return Answer(200, f"event {eid} recorded", recorded=True)
        finding.change = _change(result.before, finding.category)
        return Answer(200, f"event {eid} recorded", change=finding, recorded=True)


def _created(value: Any, now: datetime) -> int:
    """An event's `created` in unix seconds: an int (v1) or an ISO 8601 time (v2 thin)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**40:
        return value
    if isinstance(value, str) and len(value) < 64:
        try:
            return int(parse_iso(value).timestamp())
        except ValueError:
            pass
    return int(now.timestamp())


def _announced(result: Recorded) -> bool:
    """A category change worth a line: any change, except an object first seen healthy."""
    if not result.changed:
        return False
    return not (result.before is None and result.after == Category.ACTIVE)


def _change(before: str | None, after: Category) -> Change:
    try:
        old = Category(before) if before is not None else None
    except ValueError:
        old = None
    if old is None or old is Category.ACTIVE:
        return Change.NEW
    return Change.WORSE if SEVERITY[after] < SEVERITY[old] else Change.BETTER
