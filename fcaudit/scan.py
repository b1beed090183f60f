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
from fcaudit.client import Cancelled, RequestFailed, StripeGateway
from fcaudit.errors import ApiError, FcauditError
from fcaudit.model import Scope, ScopeError, ScopeType
from fcaudit.runner import Emit, Observed, SourceOutcome
from fcaudit.stripe_api import key_mode


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
    ) -> None:
        self.gateway = gateway
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
        self._authorization_objects: dict[str, dict[str, Any]] = {}
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
        oid = _id_of(item.obj.get("id")) or "(no id)"
        return ScopeError(Scope(ScopeType.ACCOUNT, oid), str(error))

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
        return SourceOutcome(list(self._errors))

    def _feed(self, pool: WorkPool, scopes: Iterable[Scope] | None) -> None:
        backlog = self._concurrency * 4
        if scopes is None:
            self.scope_label = "customers"
            try:
                for page in self.gateway.iter_customer_pages():
                    for customer in page:
                        self._submit(pool, Scope(ScopeType.CUSTOMER, customer), backlog)
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
            obj = self.gateway.retrieve_account(str(scope.id))
            self._emit_account(obj, f"account {scope.id}", pool)
        elif scope.type is ScopeType.AUTHORIZATION:
            obj = self.gateway.retrieve_authorization(str(scope.id))
            self._send(Observed(obj, f"authorization {scope.id}", self.stripe_version))
        else:
            where = scope.label()
            for account in self.gateway.iter_accounts(account_filter(scope)):
                try:
                    self._emit_account(account, where, pool)
                except (ValueError, TypeError, KeyError, AttributeError) as err:
                    # One odd object is reported on its own; the rest of the scope goes on.
                    oid = _id_of(account.get("id")) if isinstance(account, dict) else None
                    self._record(ScopeError(Scope(ScopeType.ACCOUNT, str(oid)), f"{err}"))

    def _emit_account(self, account: dict[str, Any], where: str, pool: WorkPool) -> None:
        auth = _id_of(account.get("authorization"))
        if self._with_authorizations and auth:
            with self._lock:
                first = auth not in self._covered
                self._covered.setdefault(auth, []).append(str(account.get("id")))
            if first:
                pool.submit(
                    self._guarded,
                    self._fetch_authorization,
                    Scope(ScopeType.AUTHORIZATION, auth),
                )
        self._send(Observed(account, where, self.stripe_version))

    def _fetch_authorization(self, scope: Scope) -> None:
        obj = self.gateway.retrieve_authorization(str(scope.id))
        with self._lock:
            self._authorization_objects[str(scope.id)] = obj

    def _emit_authorizations(self) -> None:
        """Authorizations last: only now is the full list of accounts each covers known."""
        for auth_id in sorted(self._authorization_objects):
            covered = tuple(sorted(self._covered.get(auth_id, ())))
            obj = self._authorization_objects[auth_id]
            self._send(Observed(obj, f"authorization {auth_id}", self.stripe_version, covered))

    def _send(self, item: Observed) -> None:
        try:
            self._emit(item)
        except OSError as err:
            raise OutputFailed(err) from err
