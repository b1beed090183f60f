"""The scan source: enumerate scopes, list and retrieve concurrently, emit what it finds.

A scan of a whole Stripe account discovers its FC accounts one of two ways (`Discovery`):
the unfiltered account list (one request per 100 accounts, every holder type), or customer
pages feeding per-customer account listings (one request per customer). `auto` tries the
first and falls back to the second only when Stripe refuses it with a 400
`invalid_request_error`. With `--connected-accounts`, each connected account is discovered
the same way under its own `Stripe-Account` header, after the platform.

Everything runs on one bounded pool of worker threads, so different endpoints proceed in
parallel while the gateway's rate limiter keeps the whole run inside Stripe's budget. Pool
tasks never wait for room in the pool (a worker that waits on its own pool can deadlock it):
the customer listings of the fan-out, which must wait, run on the feeding thread. Objects go
to the pipeline as soon as they arrive (NDJSON streams them); the source keeps only progress
counters, plus, with `--authorizations`, the account ids behind each authorization and each
authorization fetched.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal

from fcaudit.classify import NotClassifiable
from fcaudit.errors import ApiError, FcauditError
from fcaudit.model.report import Contact, Scope, ScopeError, ScopeType
from fcaudit.sources.base import Emit, Observed, SourceOutcome
from fcaudit.stripe.failures import Cancelled, PaginationError, RequestFailed
from fcaudit.stripe.gateway import Page, StripeGateway
from fcaudit.stripe.ids import is_stripe_id
from fcaudit.stripe.redact import clean, key_mode


class Discovery(StrEnum):
    """How a scan with no scope flag finds a Stripe account's FC accounts (`--discovery`)."""

    AUTO = "auto"  # the unfiltered list; the fan-out only if Stripe refuses it (400)
    ACCOUNTS = "accounts"  # GET /v1/financial_connections/accounts, no filter: 1 per 100
    CUSTOMERS = "customers"  # every customer, then each one's accounts: 1 per customer


ALL_CONNECTED: Literal["all"] = "all"  # --connected-accounts all: page GET /v1/accounts


def refused_unfiltered(err: RequestFailed) -> bool:
    """Stripe refusing the unfiltered account list as such: a 400 invalid_request_error.
    Anything else (401/403, 429, 5xx, a network error) keeps its usual meaning."""
    return err.http_status == 400 and err.error_type == "invalid_request_error"


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


def _invalid(item: Any, noun: str, prefix: str = "") -> str | None:
    """None for an element of a listing with an id of Stripe's shape (starting `prefix`);
    otherwise what the element is instead, for its errors[] entry."""
    if isinstance(item, dict) and is_stripe_id(item.get("id"), prefix):
        return None
    article = "an" if noun[0] in "aeiou" else "a"
    if not isinstance(item, dict):
        return f"{_kind(item)}, not {article} {noun}"
    return f"{article} {noun} without a valid id"


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

    `scopes=None` means the whole account, discovered as `discovery` says (the fan-out over
    every customer unless told otherwise), plus, with `connected_accounts` (`"all"` or ids),
    each connected account's own. Scopes of type account or authorization are retrieved by id.
    """

    def __init__(
        self,
        gateway: StripeGateway,
        scopes: Iterable[Scope] | None,
        *,
        concurrency: int = 16,
        authorizations: bool = False,
        contacts: bool = False,
        discovery: Discovery = Discovery.CUSTOMERS,
        connected_accounts: Sequence[str] | Literal["all"] | None = None,
    ) -> None:
        self.gateway = gateway
        self._discovery = Discovery(discovery)
        self._connected_request = connected_accounts
        # Whole-account discovery: the Stripe accounts handed to the fan-out (run on the
        # feeding thread), how many discoveries are still running on the pool, the mode each
        # Stripe account ended up with (None: the platform) and the refusals seen by `auto`.
        self._fanout: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._discovering = 0
        self._modes: dict[str | None, Discovery] = {}
        self._refusals: list[tuple[str | None, RequestFailed]] = []
        self._connected: list[str] = []  # the connected accounts read, in the order listed
        self._contact_requested: set[str] = set()
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
        self._authorization_objects: dict[str, tuple[dict[str, Any], str | None, str | None]] = {}
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
            Scope(
                ScopeType.ACCOUNT,
                oid if is_stripe_id(oid) else None,
                self._connected_only(item.stripe_account),
            ),
            f"{item.where}: {clean(error, key)}",
            item.request_id,
        )

    def _connected_only(self, stripe_account: str | None) -> str | None:
        """A connected account of --connected-accounts (the header this run chose), not the
        one every request carries with --stripe-account."""
        return stripe_account if stripe_account != self.gateway.settings.stripe_account else None

    def _stripe_account(self, scope: Scope) -> str | None:
        """The Stripe-Account a scope's objects were read under, for their findings."""
        return scope.stripe_account or self.gateway.settings.stripe_account

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
                learned, read = self._learned(), self._stripe_accounts()
                with self._lock:
                    return SourceOutcome(
                        list(self._errors), interrupted=True, scope=learned, stripe_accounts=read
                    )
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
        return SourceOutcome(
            list(self._errors),
            contacts=dict(self._contacts),
            scope=self._learned(),
            stripe_accounts=self._stripe_accounts(),
        )

    def _stripe_accounts(self) -> list[str] | None:
        if self._connected_request is None:
            return None
        with self._lock:
            return list(self._connected)

    def _learned(self) -> dict[str, Any]:
        """`scope.discovery` for a whole-account scan: the mode asked for, the mode used
        (`mixed` when Stripe accounts answered `auto` differently) and why."""
        if self._scopes is not None:
            return {}
        with self._lock:
            modes = set(self._modes.values())
            refusals = list(self._refusals)
            read = len(self._modes)
        requested = self._discovery
        mode: str | None
        if len(modes) == 1:
            mode = str(next(iter(modes)))
        elif modes:
            mode = "mixed"
        else:  # nothing was discovered (interrupted, or every connected account failed)
            mode = None if requested is Discovery.AUTO else str(requested)
        if requested is Discovery.ACCOUNTS:
            reason = "--discovery accounts: the unfiltered account list, every holder type"
        elif requested is Discovery.CUSTOMERS:
            reason = "--discovery customers: every customer, then each customer's accounts"
        elif not refusals:
            reason = "auto: Stripe accepted the unfiltered account list"
        else:
            where, err = refusals[0]
            rid = f", request {err.request_id}" if err.request_id else ""
            code = f" {err.code}" if err.code else ""
            said = re.sub(r" \(HTTP 400[^()]*\)$", "", err.message)  # said once, before
            first = (
                f"Stripe refused the unfiltered account list{' of ' + where if where else ''}"
                f" (HTTP 400 invalid_request_error{code}{rid}): {said}"
            )
            if len(refusals) == read:
                reason = f"auto: {first}; listed each customer's accounts instead"
            else:
                reason = (
                    f"auto: {len(refusals)} of {read} Stripe accounts refused the unfiltered "
                    f"account list and had each customer's accounts listed instead; the first: "
                    f"{first}"
                )
        return {
            "discovery": {
                "requested": str(requested),
                "mode": mode,
                "reason": reason,
                "refused": len(refusals),
            }
        }

    def _feed(self, pool: WorkPool, scopes: Iterable[Scope] | None) -> None:
        backlog = self._concurrency * 4
        if scopes is None:
            self._feed_whole(pool, backlog)
        else:
            if isinstance(scopes, list):
                self.scopes_total = len(scopes)
            for scope in scopes:
                self._submit(pool, scope, backlog)

    # -- whole-account discovery ------------------------------------------------------------

    def _feed_whole(self, pool: WorkPool, backlog: int) -> None:
        """The platform (or the --stripe-account), then each connected account, discovered
        alike; the fan-outs handed back by `auto` are run here, where waiting is safe."""
        connected = self._connected_request is not None
        self.scope_label = (
            "Stripe accounts"
            if connected
            else ("customers" if self._discovery is Discovery.CUSTOMERS else "account pages")
        )
        self._start(pool, None, backlog)
        if connected:
            for acct in self._connected_ids():
                self._start(pool, acct, backlog)
                self._run_fanouts(pool, backlog, wait=False)
        self._run_fanouts(pool, backlog, wait=True)

    def _valid(
        self, pages: Iterable[Page], listing: Scope, listed: str, prefix: str, noun: str
    ) -> Iterator[tuple[dict[str, Any], str]]:
        """Each element of a listing with an id of the right shape; any other element is an
        errors[] entry naming its page and position, and the rest of the page is kept."""
        for number, page in enumerate(pages, start=1):
            for position, item in enumerate(page, start=1):
                what = _invalid(item, noun, prefix)
                if what is None:
                    yield item, item["id"]
                    continue
                self._record(
                    ScopeError(
                        listing,
                        f"listing {listed}: page {number}, item {position} is {what}; skipped",
                        page.request_id,
                    )
                )

    def _connected_ids(self) -> Iterator[str]:
        """The connected accounts to read: the ones named, or every one GET /v1/accounts
        lists (each once, in the order listed)."""
        seen: set[str] = set()
        if self._connected_request != ALL_CONNECTED:
            for acct in self._connected_request or ():
                if acct not in seen:
                    seen.add(acct)
                    yield acct
            return
        listing = Scope(ScopeType.CONNECTED_ACCOUNT)
        try:
            pages = self.gateway.iter_connected_account_pages()
            for _, found in self._valid(pages, listing, "connected accounts", "acct_", "account"):
                if found not in seen:
                    seen.add(found)
                    yield found
        except PaginationError as err:
            self._record(
                ScopeError(listing, f"listing connected accounts: {err.message}", err.request_id)
            )
        except RequestFailed as err:
            self.gateway.cancelled.set()
            rid = f", request {err.request_id}" if err.request_id else ""
            raise ApiError(
                f"listing connected accounts failed after {len(seen)}: {err.message}{rid}. "
                "Tip: re-run later, or name them with --connected-accounts acct_1,acct_2."
            ) from None

    def _start(self, pool: WorkPool, acct: str | None, backlog: int) -> None:
        """Begin discovering one Stripe account (None: the platform)."""
        if self._fatal is not None:
            raise Cancelled
        if acct is not None:
            with self._lock:
                self._connected.append(acct)
        if self._connected_request is not None:
            self.scopes_listed += 1
        if self._discovery is Discovery.CUSTOMERS:
            self._fanout.put(acct)
            return
        pool.wait_below(backlog)
        with self._lock:
            self._discovering += 1
        pool.submit(self._guarded, self._discover, self._context_scope(acct), pool)

    def _context_scope(self, acct: str | None) -> Scope:
        return Scope(ScopeType.CONNECTED_ACCOUNT, acct, acct) if acct else Scope(ScopeType.ACCOUNT)

    def _run_fanouts(self, pool: WorkPool, backlog: int, *, wait: bool) -> None:
        """List the customers of each Stripe account handed over for the fan-out; with
        `wait`, until no discovery is left running on the pool."""
        while True:
            if self._fatal is not None:
                raise Cancelled
            try:
                acct = self._fanout.get(timeout=0.05) if wait else self._fanout.get_nowait()
            except queue.Empty:
                if not wait:
                    return
                with self._lock:
                    done = self._discovering == 0
                if done and self._fanout.empty():
                    return
                continue
            self._list_customers(pool, acct, backlog)

    def _discover(self, scope: Scope, pool: WorkPool) -> None:
        """A pool task: one Stripe account's unfiltered account list, every page; under
        `auto`, a refusal hands the account to the fan-out instead."""
        handed_over = False
        try:
            handed_over = self._list_accounts(scope, pool)
        finally:
            with self._lock:
                self._discovering -= 1
                if self._connected_request is not None and not handed_over:
                    self.scopes_done += 1

    def _list_accounts(self, scope: Scope, pool: WorkPool) -> bool:
        """The unfiltered list of one Stripe account; True when `auto` handed the account
        over to the fan-out."""
        acct = scope.stripe_account
        listing = Scope(ScopeType.ACCOUNT, None, acct)
        pages = self.gateway.iter_account_pages({}, stripe_account=acct)
        number = 0
        try:
            for number, page in enumerate(pages, start=1):
                if number == 1:
                    with self._lock:
                        self._modes[acct] = Discovery.ACCOUNTS
                if acct is None and self._connected_request is None:
                    self.scopes_listed += 1
                where = f"the account list{' of ' + acct if acct else ''}"
                self._emit_page(listing, where, number, page, pool, prefix="listing accounts: ")
                if acct is None and self._connected_request is None:
                    with self._lock:
                        self.scopes_done += 1
        except PaginationError as err:
            self._record(ScopeError(listing, f"listing accounts: {err.message}", err.request_id))
        except RequestFailed as err:
            if number == 0 and self._discovery is Discovery.AUTO and refused_unfiltered(err):
                with self._lock:
                    self._refusals.append((acct, err))
                    self._modes[acct] = Discovery.CUSTOMERS
                if acct is None and self._connected_request is None:
                    self.scope_label = "customers"
                self._fanout.put(acct)
                return True
            if acct is not None:
                raise  # this connected account goes to errors[]; the others go on
            self.gateway.cancelled.set()
            rid = f", request {err.request_id}" if err.request_id else ""
            tip = "re-run later, or try --discovery customers"
            if err.http_status == 400:
                tip = "Stripe may not accept the unfiltered list: use --discovery auto or customers"
            raise ApiError(
                f"listing accounts failed after {number} pages: {err.message}{rid}. Tip: {tip}."
            ) from None
        return False

    def _list_customers(self, pool: WorkPool, acct: str | None, backlog: int) -> None:
        """The fan-out of one Stripe account, on the feeding thread: every customer, each
        submitted as its own scope (waiting for room in the pool)."""
        with self._lock:
            self._modes.setdefault(acct, Discovery.CUSTOMERS)
        seen: set[str] = set()  # a customer listed twice is scanned once
        listing = Scope(ScopeType.CUSTOMER, None, acct)
        try:
            pages = self.gateway.iter_customer_list(stripe_account=acct)
            for customer, cid in self._valid(pages, listing, "customers", "cus_", "customer"):
                if self._want_contacts:
                    with self._lock:
                        self._contacts[cid] = _contact(customer)
                if cid not in seen:
                    seen.add(cid)
                    self._submit(
                        pool,
                        Scope(ScopeType.CUSTOMER, cid, acct),
                        backlog,
                        count=self._connected_request is None,
                    )
        except PaginationError as err:
            # The customers before it are scanned; the listing itself is incomplete.
            self._record(ScopeError(listing, f"listing customers: {err.message}", err.request_id))
        except RequestFailed as err:
            if acct is not None:  # this connected account's listing: its own failure
                self._record(
                    ScopeError(
                        Scope(ScopeType.CONNECTED_ACCOUNT, acct, acct),
                        f"listing customers failed after {len(seen)} customers: {err.message}",
                        err.request_id,
                        err.http_status,
                        err.code,
                        err.attempts,
                    )
                )
                return
            self.gateway.cancelled.set()
            rid = f", request {err.request_id}" if err.request_id else ""
            raise ApiError(
                f"listing customers failed after {self.scopes_listed} customers: "
                f"{err.message}{rid}. Tip: re-run later, or scan named customers with "
                "--customer / --customers-from."
            ) from None
        finally:
            if self._connected_request is not None:
                with self._lock:
                    self.scopes_done += 1

    def _submit(self, pool: WorkPool, scope: Scope, backlog: int, *, count: bool = True) -> None:
        if self._fatal is not None:
            raise Cancelled
        pool.wait_below(backlog)
        if count:
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
            counted = scope.stripe_account is None or self._connected_request is None
            if fn == self._do_scope and counted:
                with self._lock:
                    self.scopes_done += 1

    def _record(self, error: ScopeError) -> None:
        with self._lock:
            self._errors.append(error)

    # -- tasks ------------------------------------------------------------------------------

    def _do_scope(self, scope: Scope, pool: WorkPool) -> None:
        acct = scope.stripe_account
        if scope.type is ScopeType.ACCOUNT:
            obj, request_id = self.gateway.fetch_account(str(scope.id), stripe_account=acct)
            self._emit_account(obj, f"account {scope.id}", pool, request_id, stripe_account=acct)
        elif scope.type is ScopeType.AUTHORIZATION:
            obj, request_id = self.gateway.fetch_authorization(str(scope.id), stripe_account=acct)
            self._send(
                Observed(
                    obj,
                    f"authorization {scope.id}",
                    self.stripe_version,
                    request_id=request_id,
                    stripe_account=self._stripe_account(scope),
                )
            )
        else:
            where = scope.label()
            found = False
            for number, page in enumerate(
                self.gateway.iter_account_pages(account_filter(scope), stripe_account=acct),
                start=1,
            ):
                found = found or bool(page)
                self._emit_page(scope, where, number, page, pool)
            if found and self._want_contacts and scope.type is ScopeType.CUSTOMER:
                with self._lock:
                    known = str(scope.id) in self._contacts
                if not known:
                    customer, _ = self.gateway.fetch_customer(str(scope.id), stripe_account=acct)
                    with self._lock:
                        self._contacts[str(scope.id)] = _contact(customer)

    def _emit_page(
        self,
        scope: Scope,
        where: str,
        number: int,
        page: Page,
        pool: WorkPool,
        *,
        prefix: str = "",
    ) -> None:
        """Every good element of a page; a bad one is an errors[] entry naming its place."""
        firsts: dict[str, int] = {}
        notes: dict[str, str] = {}
        for position, account in enumerate(page, start=1):
            what = _invalid(account, "account")
            if what is not None:
                self._record(
                    ScopeError(
                        scope,
                        f"{prefix}page {number}, item {position} is {what}; skipped",
                        page.request_id,
                    )
                )
                continue
            oid = account["id"]
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
                self._emit_account(
                    account,
                    where,
                    pool,
                    page.request_id,
                    notes.get(oid),
                    stripe_account=scope.stripe_account,
                    holders=scope.type is ScopeType.ACCOUNT,
                )
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                # One odd object is reported on its own; the rest of the scope goes on.
                self._record(
                    ScopeError(Scope(ScopeType.ACCOUNT, oid, scope.stripe_account), f"{err}")
                )

    def _emit_account(
        self,
        account: dict[str, Any],
        where: str,
        pool: WorkPool,
        request_id: str | None = None,
        note: str | None = None,
        *,
        stripe_account: str | None = None,
        holders: bool = False,
    ) -> None:
        """One account to the pipeline, once. `holders`: found by the unfiltered list, so
        with --contact its customer is retrieved (once) for the name and email."""
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
                            Scope(ScopeType.ACCOUNT, oid, stripe_account),
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
                    Scope(ScopeType.ACCOUNT, oid, stripe_account),
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
                    Scope(ScopeType.AUTHORIZATION, auth, stripe_account),
                )
        if holders and self._want_contacts:
            self._want_contact(account, stripe_account, pool)
        self._send(
            Observed(
                account,
                where,
                self.stripe_version,
                request_id=request_id,
                note=note,
                stripe_account=stripe_account or self.gateway.settings.stripe_account,
            )
        )

    def _want_contact(
        self, account: Mapping[str, Any], stripe_account: str | None, pool: WorkPool
    ) -> None:
        """--contact without the customer list: retrieve a customer holder once."""
        holder = account.get("account_holder")
        if not isinstance(holder, Mapping) or holder.get("type") != "customer":
            return
        cid = _id_of(holder.get("customer"))
        if cid is None or not is_stripe_id(cid, "cus_"):
            return
        with self._lock:
            first = cid not in self._contact_requested
            self._contact_requested.add(cid)
        if first:
            scope = Scope(ScopeType.CUSTOMER, cid, stripe_account)
            pool.submit(self._guarded, self._fetch_contact, scope)

    def _fetch_contact(self, scope: Scope) -> None:
        try:
            customer, _ = self.gateway.fetch_customer(
                str(scope.id), stripe_account=scope.stripe_account
            )
        except RequestFailed as err:
            err.message = f"retrieving the customer for --contact: {err.message}"
            raise
        with self._lock:
            self._contacts[str(scope.id)] = _contact(customer)

    def _fetch_authorization(self, scope: Scope) -> None:
        obj, request_id = self.gateway.fetch_authorization(
            str(scope.id), stripe_account=scope.stripe_account
        )
        with self._lock:
            self._authorization_objects[str(scope.id)] = (
                obj,
                request_id,
                self._stripe_account(scope),
            )

    def _emit_authorizations(self) -> None:
        """Authorizations last: only now is the full list of accounts each covers known."""
        for auth_id in sorted(self._authorization_objects):
            covered = tuple(sorted(self._covered.get(auth_id, ())))
            obj, request_id, stripe_account = self._authorization_objects[auth_id]
            self._send(
                Observed(
                    obj,
                    f"authorization {auth_id}",
                    self.stripe_version,
                    covered,
                    request_id=request_id,
                    stripe_account=stripe_account,
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
