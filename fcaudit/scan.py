"""The scan engine: enumerate scopes, list and retrieve concurrently, classify, emit findings.

Customer pages feed per-customer account listings, which feed authorization retrievals, all
on one bounded pool of worker threads, so different endpoints proceed in parallel while the
gateway's rate limiter keeps the whole run inside Stripe's budget. Findings go to a sink as
soon as they are classified (NDJSON streams them); the engine keeps only counters, plus, with
`--authorizations`, the account ids behind each authorization and each authorization fetched.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fcaudit.classify import NotClassifiable
from fcaudit.client import Cancelled, RequestFailed, StripeGateway
from fcaudit.errors import ApiError, FcauditError
from fcaudit.findings import AUTHORIZATION_OBJECT, Category, Finding

Classifier = Callable[..., Finding]
FindingSink = Callable[[Finding], None]


@dataclass(frozen=True)
class Scope:
    """One unit of work that can fail on its own: a customer, a connected account, ..."""

    type: str  # customer | account_holder | session | account | authorization | customers
    id: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}

    def account_filter(self) -> dict[str, Any]:
        if self.type == "customer":
            return {"account_holder": {"customer": self.id}}
        if self.type == "account_holder":
            return {"account_holder": {"account": self.id}}
        if self.type == "session":
            return {"session": self.id}
        raise ValueError(f"scope {self.type} has no account filter")


@dataclass(frozen=True)
class ScopeError:
    """A scope whose requests failed for good; reported in errors[]."""

    scope: Scope
    message: str
    request_id: str | None = None
    http_status: int | None = None
    code: str | None = None
    attempts: int = 1

    def to_record(self) -> dict[str, Any]:
        return {
            "scope": self.scope.to_record(),
            "message": self.message,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "code": self.code,
            "attempts": self.attempts,
        }


@dataclass
class ScanResult:
    errors: list[ScopeError] = field(default_factory=list)
    interrupted: bool = False
    counts: Counter[Category] = field(default_factory=Counter)
    by_institution: Counter[str] = field(default_factory=Counter)
    accounts: int = 0
    authorizations: int = 0
    scopes_done: int = 0

    @property
    def complete(self) -> bool:
        return not self.errors and not self.interrupted

    def count(self, finding: Finding) -> None:
        """Add one finding to the summary counters (by category, object, institution)."""
        self.counts[finding.category] += 1
        if finding.object == AUTHORIZATION_OBJECT:
            self.authorizations += 1
        else:
            self.accounts += 1
        if finding.category is not Category.ACTIVE:
            self.by_institution[finding.institution_name or "(unknown)"] += 1


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
    """Runs one scan or retrieval against a gateway and sends findings to `sink`."""

    def __init__(
        self,
        gateway: StripeGateway,
        classify: Classifier,
        sink: FindingSink,
        *,
        concurrency: int = 16,
        authorizations: bool = False,
    ) -> None:
        self.gateway = gateway
        self._classify = classify
        self._sink = sink
        self._concurrency = max(1, concurrency)
        self._with_authorizations = authorizations
        self._lock = threading.Lock()
        self._fatal: BaseException | None = None
        self._covered: dict[str, list[str]] = {}
        self._authorization_objects: dict[str, dict[str, Any]] = {}
        self.result = ScanResult()
        self.scopes_total: int | None = None  # known once enumeration ends
        self.scopes_listed = 0
        self.scope_label = "scopes"  # what the progress display counts

    # -- public entry points ----------------------------------------------------------------

    def scan(self, scopes: Iterable[Scope] | None) -> ScanResult:
        """List the accounts of each scope; `None` means every customer of the account."""
        return self._run(lambda pool: self._feed(pool, scopes))

    def retrieve(self, scope_type: str, ids: Iterable[str]) -> ScanResult:
        """Retrieve and classify individual accounts or authorizations."""
        return self._run(lambda pool: self._feed(pool, [Scope(scope_type, i) for i in ids]))

    # -- orchestration ----------------------------------------------------------------------

    def _run(self, feed: Callable[[WorkPool], None]) -> ScanResult:
        pool = WorkPool(self._concurrency)
        try:
            feed(pool)
            pool.join()
            self.scopes_total = self.scopes_listed
            if self._with_authorizations:
                self._emit_authorizations()
        except (KeyboardInterrupt, Cancelled):
            self.gateway.cancelled.set()
            if self._fatal is None:  # a real interrupt, not a worker's fatal error
                with self._lock:
                    self.result.interrupted = True
                    self._sort_errors()
                return self.result
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
        self._sort_errors()
        return self.result

    def _sort_errors(self) -> None:
        # Completion order varies run to run; a stable order keeps daily reports diffable.
        self.result.errors.sort(key=lambda e: (e.scope.type, e.scope.id or "", e.message))

    def _feed(self, pool: WorkPool, scopes: Iterable[Scope] | None) -> None:
        backlog = self._concurrency * 4
        if scopes is None:
            self.scope_label = "customers"
            try:
                for page in self.gateway.iter_customer_pages():
                    for customer in page:
                        self._submit(pool, Scope("customer", customer), backlog)
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
                    self.result.scopes_done += 1

    def _record(self, error: ScopeError) -> None:
        with self._lock:
            self.result.errors.append(error)

    # -- tasks ------------------------------------------------------------------------------

    def _do_scope(self, scope: Scope, pool: WorkPool) -> None:
        if scope.type == "account":
            self._emit_account(self.gateway.retrieve_account(str(scope.id)), pool)
        elif scope.type == "authorization":
            obj = self.gateway.retrieve_authorization(str(scope.id))
            self._emit(self._classify(obj))
        else:
            for account in self.gateway.iter_accounts(scope.account_filter()):
                try:
                    self._emit_account(account, pool)
                except (NotClassifiable, ValueError, TypeError, KeyError) as err:
                    # One odd object is reported on its own; the rest of the scope goes on.
                    oid = account.get("id") if isinstance(account, dict) else None
                    self._record(ScopeError(Scope("account", str(oid)), f"{err}"))

    def _emit_account(self, account: dict[str, Any], pool: WorkPool) -> None:
        finding = self._classify(account)
        auth = finding.authorization
        if self._with_authorizations and auth:
            with self._lock:
                first = auth not in self._covered
                self._covered.setdefault(auth, []).append(finding.id)
            if first:
                pool.submit(self._guarded, self._fetch_authorization, Scope("authorization", auth))
        self._emit(finding)

    def _fetch_authorization(self, scope: Scope) -> None:
        obj = self.gateway.retrieve_authorization(str(scope.id))
        with self._lock:
            self._authorization_objects[str(scope.id)] = obj

    def _emit_authorizations(self) -> None:
        """Authorizations last: only now is the full list of accounts each covers known."""
        for auth_id in sorted(self._authorization_objects):
            covered = tuple(sorted(self._covered.get(auth_id, ())))
            try:
                finding = self._classify(self._authorization_objects[auth_id], accounts=covered)
            except NotClassifiable as err:
                self._record(ScopeError(Scope("authorization", auth_id), str(err)))
                continue
            self._emit(finding)

    def _emit(self, finding: Finding) -> None:
        with self._lock:
            if self.result.interrupted:
                return  # the report is being written; late arrivals are dropped
            self.result.count(finding)
            try:
                self._sink(finding)
            except OSError as err:
                raise OutputFailed(err) from err
