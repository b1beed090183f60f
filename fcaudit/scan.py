"""The scan source: enumerate scopes, list and retrieve concurrently, emit what it finds.

Customer pages feed per-customer account listings, which feed authorization retrievals, all
on one bounded pool of worker threads, so different endpoints proceed in parallel while the
gateway's rate limiter keeps the whole run inside Stripe's budget. Objects go to the
pipeline as soon as they arrive (NDJSON streams them); the source keeps only progress
counters, plus, with `--authorizations`, the account ids behind each authorization and each
authorization fetched.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fcaudit.classify import NotClassifiable
from fcaudit.client import (
    CUSTOMERS,
    Cancelled,
    Page,
    PaginationError,
    RequestFailed,
    StripeGateway,
    clean,
)
from fcaudit.errors import ApiError, FcauditError
from fcaudit.model import Contact, Scope, ScopeError, ScopeType
from fcaudit.runner import Emit, Observed, SourceOutcome
from fcaudit.stripe_api import is_stripe_id, key_mode


def account_filter(scope: Scope) -> dict[str, Any]:
    """The list filter for a scope (https://docs.stripe.com/api/financial_connections/accounts/list)."""
    if scope.type is ScopeType.CUSTOMER:
        return {"account_holder": {"customer": scope.id}}
    if scope.type is ScopeType.ACCOUNT_HOLDER:
        return {"account_holder": {"account": scope.id}}
    if scope.type is ScopeType.CUSTOMER_ACCOUNT:
        return {"account_holder": {"customer_account": scope.id}}
    if scope.type is ScopeType.SESSION:
        return {"session": scope.id}
    raise ValueError(f"scope {scope.type} has no account filter")


def _id_of(value: Any) -> str | None:
    """An id that may have been expanded into an object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _holder(account: Mapping[str, Any]) -> str:
    """The account's holder as one comparable string (`customer cus_1`, `account acct_1`)."""
    holder = account.get("account_holder")
    if not isinstance(holder, Mapping):
        return "none"
    kind = holder.get("type")
    value = holder.get(kind) if isinstance(kind, str) else None
    return f"{kind} {_id_of(value) or '?'}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


class WorkPool:
    """Daemon worker threads around one queue; `join` waits for everything submitted.

    Daemon threads (not ThreadPoolExecutor, whose atexit hook joins its workers) let an
    interrupted run exit at once even while a request is still in flight.
    """

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._cv = threading.Condition()
        self._pending = 0
        for n in range(max(1, workers)):
            threading.Thread(target=self._work, name=f"fcaudit-{n}", daemon=True).start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._cv:
            self._pending += 1
        self._queue.put((fn, args))

    def _work(self) -> None:
        while True:
            fn, args = self._queue.get()
            try:
                fn(*args)
            finally:
                with self._cv:
                    self._pending -= 1
                    self._cv.notify_all()

    def wait_below(self, limit: int) -> None:
        """Block while `limit` or more tasks are pending (backpressure for huge scopes)."""
        with self._cv:
            while self._pending >= limit:
                self._cv.wait(0.2)

    def join(self) -> None:
        self.wait_below(1)


class OutputFailed(Exception):
    """Writing a finding failed (closed pipe, full disk): the whole run must stop."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Scanner:
    """A source: lists the accounts of each scope (or retrieves objects by id) through a
    gateway, and emits each object found.

    `scopes=None` means every customer of the account. Scopes of type account or
    authorization are retrieved by id.
    """

    def __init__(
        self,
        gateway: StripeGateway,
        scopes: Iterable[Scope] | None,
        *,
        concurrency: int = 16,
        authorizations: bool = False,
        contacts: bool = False,
    ) -> None:
        self.gateway = gateway
        # --contact: each customer's name and email, from the customer list a full scan reads
        # anyway, or one GET per customer of a --customer scope that has accounts.
        self._want_contacts = contacts
        self._contacts: dict[str, Contact] = {}
        self.stripe_version: str | None = gateway.settings.stripe_version
        self.mode: str | None = key_mode(gateway.settings.api_key)
        self._scopes = scopes
        self._concurrency = max(1, concurrency)
        self._with_authorizations = authorizations
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None
        self._emit: Emit = lambda item: None
        self._errors: list[ScopeError] = []
        self._covered: dict[str, list[str]] = {}
        self._authorization_objects: dict[str, tuple[dict[str, Any], str | None]] = {}
        # Each account once: its id and holder, to spot one listed twice with two holders.
        self._seen: dict[str, str] = {}
        self.scopes_total: int | None = None  # known once enumeration ends
        self.scopes_listed = 0
        self.scopes_done = 0
        self._duration = 0.0
        self.scope_label = "scopes"  # what the progress display counts

    def stats(self) -> Mapping[str, Any]:
        return {**self.gateway.stats.snapshot(), "duration_seconds": round(self._duration, 3)}

    @property
    def failed(self) -> int:
        """Scopes that have failed so far (for the progress display)."""
        return len(self._errors)

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        oid = _id_of(item.obj.get("id"))
        key = self.gateway.settings.api_key
        return ScopeError(
            Scope(ScopeType.ACCOUNT, oid if is_stripe_id(oid) else None),
            f"{item.where}: {clean(error, key)}",
            item.request_id,
        )

    # -- orchestration ----------------------------------------------------------------------

    def run(self, emit: Emit) -> SourceOutcome:
        self._emit = emit
        clock = self.gateway.clock
        started = clock()
        try:
            return self._run()
        finally:
            self._duration = clock() - started

    def _run(self) -> SourceOutcome:
        pool = WorkPool(self._concurrency)
        try:
            self._feed(pool, self._scopes)
            pool.join()
            self.scopes_total = self.scopes_listed
            if self._with_authorizations:
                self._emit_authorizations()
        except (KeyboardInterrupt, Cancelled):
            self.gateway.cancelled.set()
            if self._fatal is None:  # a real interrupt, not a worker's fatal error
                with self._lock:
                    return SourceOutcome(list(self._errors), interrupted=True)
        except OutputFailed as err:
            self.gateway.cancelled.set()
            raise err.error from None
        except BaseException:
            self.gateway.cancelled.set()
            raise
        if isinstance(self._fatal, OutputFailed):
            raise self._fatal.error
        if self._fatal is not None:
            raise self._fatal
        return SourceOutcome(list(self._errors), contacts=dict(self._contacts))

    def _feed(self, pool: WorkPool, scopes: Iterable[Scope] | None) -> None:
        backlog = self._concurrency * 4
        if scopes is None:
            self.scope_label = "customers"
            seen: set[str] = set()  # a customer listed twice is scanned once
            listing = Scope(ScopeType.CUSTOMER)
            try:
                pages = self.gateway.iter_pages(CUSTOMERS, {}, endpoint=f"GET {CUSTOMERS}")
                for number, page in enumerate(pages, start=1):
                    for position, customer in enumerate(page, start=1):
                        cid = customer.get("id") if isinstance(customer, dict) else None
                        if not is_stripe_id(cid, "cus_"):
                            what = "a customer without a valid id"
                            if not isinstance(customer, dict):
                                what = f"{_kind(customer)}, not a customer"
                            self._record(
                                ScopeError(
                                    listing,
                                    f"listing customers: page {number}, item {position} is "
                                    f"{what}; skipped",
                                    page.request_id,
                                )
                            )
                            continue
                        assert isinstance(cid, str)
                        if self._want_contacts:
                            self._contacts[cid] = _contact(customer)
                        if cid not in seen:
                            seen.add(cid)
                            self._submit(pool, Scope(ScopeType.CUSTOMER, cid), backlog)
            except PaginationError as err:
                # The customers before it are scanned; the listing itself is incomplete.
                self._record(
                    ScopeError(listing, f"listing customers: {err.message}", err.request_id)
                )
            except RequestFailed as err:
                self.gateway.cancelled.set()
                rid = f", request {err.request_id}" if err.request_id else ""
                raise ApiError(
                    f"listing customers failed after {self.scopes_listed} customers: "
                    f"{err.message}{rid}. Tip: re-run later, or scan named customers with "
                    "--customer / --customers-from."
                ) from None
        else:
            if isinstance(scopes, list):
                self.scopes_total = len(scopes)
            for scope in scopes:
                self._submit(pool, scope, backlog)

    def _submit(self, pool: WorkPool, scope: Scope, backlog: int) -> None:
        if self._fatal is not None:
            raise Cancelled
        pool.wait_below(backlog)
        self.scopes_listed += 1
        pool.submit(self._guarded, self._do_scope, scope, pool)

    def _guarded(self, fn: Callable[..., None], scope: Scope, *args: Any) -> None:
        """Run one task; turn its failure into an errors[] entry or a fatal stop.

        Only the scopes fed by `_feed` count towards `scopes_done` (the progress display);
        the authorization fetches a scan adds on the way do not.
        """
        try:
            fn(scope, *args)
        except Cancelled:
            return
        except RequestFailed as err:
            self._record(
                ScopeError(
                    scope, err.message, err.request_id, err.http_status, err.code, err.attempts
                )
            )
        except (FcauditError, OutputFailed) as err:  # auth errors, failed writes: stop all
            with self._lock:
                self._fatal = self._fatal or err
            self.gateway.cancelled.set()
        except Exception as err:
            self._record(ScopeError(scope, f"unexpected {type(err).__name__}: {err}"))
        finally:
            if fn == self._do_scope:
                with self._lock:
                    self.scopes_done += 1

    def _record(self, error: ScopeError) -> None:
        with self._lock:
            self._errors.append(error)

    # -- tasks ------------------------------------------------------------------------------

    def _do_scope(self, scope: Scope, pool: WorkPool) -> None:
        if scope.type is ScopeType.ACCOUNT:
            obj, request_id = self.gateway.fetch_account(str(scope.id))
            self._emit_account(obj, f"account {scope.id}", pool, request_id)
        elif scope.type is ScopeType.AUTHORIZATION:
            obj, request_id = self.gateway.fetch_authorization(str(scope.id))
            self._send(
                Observed(
                    obj, f"authorization {scope.id}", self.stripe_version, request_id=request_id
                )
            )
        else:
            where = scope.label()
            found = False
            for number, page in enumerate(
                self.gateway.iter_account_pages(account_filter(scope)), start=1
            ):
                found = found or bool(page)
                self._emit_page(scope, where, number, page, pool)
            if found and self._want_contacts and scope.type is ScopeType.CUSTOMER:
                with self._lock:
                    known = str(scope.id) in self._contacts
                if not known:
                    customer, _ = self.gateway.fetch_customer(str(scope.id))
                    with self._lock:
                        self._contacts[str(scope.id)] = _contact(customer)

    def _emit_page(self, scope: Scope, where: str, number: int, page: Page, pool: WorkPool) -> None:
        """Every good element of a page; a bad one is an errors[] entry naming its place."""
        firsts: dict[str, int] = {}
        notes: dict[str, str] = {}
        for position, account in enumerate(page, start=1):
            oid = account.get("id") if isinstance(account, dict) else None
            if not isinstance(account, dict) or not is_stripe_id(oid):
                what = "an account without a valid id"
                if not isinstance(account, dict):
                    what = f"{_kind(account)}, not an account"
                self._record(
                    ScopeError(
                        scope, f"page {number}, item {position} is {what}; skipped", page.request_id
                    )
                )
                continue
            assert isinstance(oid, str)
            # The same id twice in one page: reported once, a conflict noted on it.
            if oid in firsts:
                first = page[firsts[oid]]
                if _holder(first) != _holder(account):
                    notes[oid] = _conflict(_holder(first), _holder(account))
            else:
                firsts[oid] = position - 1
        for oid, index in firsts.items():
            account = page[index]
            try:
                self._emit_account(account, where, pool, page.request_id, notes.get(oid))
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                # One odd object is reported on its own; the rest of the scope goes on.
                self._record(ScopeError(Scope(ScopeType.ACCOUNT, oid), f"{err}"))

    def _emit_account(
        self,
        account: dict[str, Any],
        where: str,
        pool: WorkPool,
        request_id: str | None = None,
        note: str | None = None,
    ) -> None:
        oid = _id_of(account.get("id"))
        if oid is not None:
            holder = _holder(account)
            with self._lock:
                known = self._seen.get(oid)
                if known is None:
                    self._seen[oid] = holder
            if known is not None:
                # Already reported (another page, another customer): never counted twice. A
                # different holder can no longer be noted on a finding already written.
                if known != holder:
                    self._record(
                        ScopeError(
                            Scope(ScopeType.ACCOUNT, oid),
                            f"listed again under {where} with {_conflict(known, holder)}; "
                            "reported once, with the first",
                            request_id,
                        )
                    )
                return
        auth_value = account.get("authorization")
        auth = _id_of(auth_value)
        bad_auth = auth is None or not is_stripe_id(auth, "fcauth_")
        if self._with_authorizations and auth_value is not None and bad_auth:
            key = self.gateway.settings.api_key
            self._record(
                ScopeError(
                    Scope(ScopeType.ACCOUNT, oid),
                    f"its authorization {clean(auth_value, key, 60)!r} is not an fcauth_ id; "
                    "not retrieved",
                    request_id,
                )
            )
            auth = None
        if self._with_authorizations and auth:
            with self._lock:
                first = auth not in self._covered
                self._covered.setdefault(auth, []).append(str(oid))
            if first:
                pool.submit(
                    self._guarded,
                    self._fetch_authorization,
                    Scope(ScopeType.AUTHORIZATION, auth),
                )
        self._send(Observed(account, where, self.stripe_version, request_id=request_id, note=note))

    def _fetch_authorization(self, scope: Scope) -> None:
        found = self.gateway.fetch_authorization(str(scope.id))
        with self._lock:
            self._authorization_objects[str(scope.id)] = found

    def _emit_authorizations(self) -> None:
        """Authorizations last: only now is the full list of accounts each covers known."""
        for auth_id in sorted(self._authorization_objects):
            covered = tuple(sorted(self._covered.get(auth_id, ())))
            obj, request_id = self._authorization_objects[auth_id]
            self._send(
                Observed(
                    obj,
                    f"authorization {auth_id}",
                    self.stripe_version,
                    covered,
                    request_id=request_id,
                )
            )

    def _send(self, item: Observed) -> None:
        try:
            self._emit(item)
        except OSError as err:
            raise OutputFailed(err) from err


def _contact(customer: Mapping[str, Any]) -> Contact:
    """A customer's name and email as Stripe gives them (untrusted text, escaped on display)."""
    name, email = customer.get("name"), customer.get("email")
    return Contact(
        name if isinstance(name, str) and name else None,
        email if isinstance(email, str) and email else None,
    )


def _conflict(first: str, other: str) -> str:
    return f"a conflicting holder: {other} (first listed with {first})"
