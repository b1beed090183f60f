"""Whole-account discovery: how a scan with no scope flag finds every FC account.

The platform (or the --stripe-account) first, then each connected account, each by the
unfiltered account list or by the customer fan-out (`Discovery`); under `auto`, a refusal of
the unfiltered list hands that Stripe account to the fan-out, which runs on the feeding
thread, where waiting for room in the pool is safe. `Scanner` mixes this in.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from fcaudit.errors import ApiError
from fcaudit.model.report import Contact, Scope, ScopeError, ScopeType
from fcaudit.sources.listing import (
    ALL_CONNECTED,
    Discovery,
    contact_of,
    invalid_element,
    refused_unfiltered,
)
from fcaudit.sources.pool import WorkPool
from fcaudit.spill import DiskMap
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.failures import Cancelled, PaginationError, RequestFailed, tip
from fcaudit.stripe.gateway import Page, StripeGateway


class WholeAccountDiscovery:
    """The discovery half of `Scanner`: its state, and the methods that feed it scopes.

    The attributes are set by `Scanner.__init__`, and the four callables declared last are
    the scanner's own methods."""

    gateway: StripeGateway
    _discovery: Discovery
    _connected_request: Sequence[str] | Literal["all"] | None
    _fanout: queue.SimpleQueue[str | None]
    _discovering: int
    _modes: dict[str | None, Discovery]
    _refusals: list[tuple[str | None, RequestFailed]]
    _connected: list[str]
    _want_contacts: bool
    _contacts: dict[str, Contact]
    _scopes: Iterable[Scope] | None
    _lock: threading.Lock
    _fatal: BaseException | None
    scopes_listed: int
    scopes_done: int
    scope_label: str

    # The scanner's own methods, which discovery calls to queue scopes and report errors.
    _submit: Callable[..., None]
    _guarded: Callable[..., None]
    _record: Callable[[ScopeError], None]
    _emit_page: Callable[..., None]

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
                what = invalid_element(item, noun, prefix)
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
            for _, found in self._valid(
                pages, listing, "connected accounts", id_kinds.CONNECTED_ACCOUNT.prefix, "account"
            ):
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
                f"Tip: {tip(err)}."
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
            advice = tip(err)
            if number == 0 and refused_unfiltered(err):  # --discovery accounts, refused
                advice = (
                    "Stripe refuses the unfiltered list here: use --discovery auto or customers"
                )
            raise ApiError(
                f"listing accounts failed after {number} pages: {err.message}{rid}. Tip: {advice}."
            ) from None
        return False

    def _list_customers(self, pool: WorkPool, acct: str | None, backlog: int) -> None:
        """The fan-out of one Stripe account, on the feeding thread: every customer, each
        submitted as its own scope (waiting for room in the pool)."""
        with self._lock:
            self._modes.setdefault(acct, Discovery.CUSTOMERS)
        # A customer listed twice is scanned once; on disk, as a million customers may be.
        seen: DiskMap[None] = DiskMap()
        listing = Scope(ScopeType.CUSTOMER, None, acct)
        try:
            pages = self.gateway.iter_customer_list(stripe_account=acct)
            for customer, cid in self._valid(
                pages, listing, "customers", id_kinds.CUSTOMER.prefix, "customer"
            ):
                if self._want_contacts:
                    with self._lock:
                        self._contacts[cid] = contact_of(customer)
                if seen.insert(cid, None):
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
                        tip(err),
                    )
                )
                return
            self.gateway.cancelled.set()
            rid = f", request {err.request_id}" if err.request_id else ""
            raise ApiError(
                f"listing customers failed after {self.scopes_listed} customers: "
                f"{err.message}{rid}. Tip: {tip(err)}."
            ) from None
        finally:
            seen.close()
            if self._connected_request is not None:
                with self._lock:
                    self.scopes_done += 1
