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
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from fcaudit.classify import NotClassifiable
from fcaudit.errors import FcauditError
from fcaudit.model.report import Contact, Scope, ScopeError, ScopeType
from fcaudit.options import DEFAULT_CONCURRENCY
from fcaudit.sources.base import Emit, Observed, SourceOutcome, budget_error
from fcaudit.sources.discovery import WholeAccountDiscovery
from fcaudit.sources.listing import (
    Discovery,
    account_filter,
    conflict,
    contact_of,
    holder_label,
    id_of,
    invalid_element,
)
from fcaudit.sources.pool import OutputFailed, WorkPool
from fcaudit.spill import DiskMap
from fcaudit.stripe import ids as id_kinds
from fcaudit.stripe.failures import Cancelled, RequestFailed, tip
from fcaudit.stripe.gateway import Page, StripeGateway
from fcaudit.stripe.ids import is_stripe_id
from fcaudit.stripe.redact import clean, key_mode


class Scanner(WholeAccountDiscovery):
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
        concurrency: int = DEFAULT_CONCURRENCY,
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
        self._unread: list[Scope] = []  # scopes cut short by --max-requests
        self._list_cut = False  # ... and whether the account list was
        self._covered: dict[str, list[str]] = {}
        self._authorization_objects: dict[str, tuple[dict[str, Any], str | None, str | None]] = {}
        # Each account once: its id and holder, to spot one listed twice with two holders. On
        # disk: a million ids would cost a hundred megabytes in a dict.
        self._seen: DiskMap[str] = DiskMap()
        self.scopes_total: int | None = None  # known once enumeration ends
        self.scopes_listed = 0
        self.scopes_done = 0
        self._duration = 0.0
        self.scope_label = "scopes"  # what the progress display counts

    def stats(self) -> Mapping[str, Any]:
        """The gateway's request counters and the scan's duration, for the report's `stats`."""
        return {**self.gateway.stats.snapshot(), "duration_seconds": round(self._duration, 3)}

    @property
    def failed(self) -> int:
        """Scopes that have failed so far (for the progress display)."""
        return len(self._errors)

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """An object a listing gave that is not an FC account: an errors[] entry naming where."""
        oid = id_of(item.obj.get("id"))
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
        """Scan every scope (or the whole account) on the worker pool, emitting objects as they
        arrive."""
        self._emit = emit
        clock = self.gateway.clock
        started = clock()
        try:
            return self._run()
        finally:
            self._duration = clock() - started
            self._seen.close()

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
                if self.gateway.budget_spent:
                    pool.join()  # the tasks still out stop at their next request
                learned, read = self._learned(), self._stripe_accounts()
                with self._lock:
                    return SourceOutcome(
                        self._errors_with_budget(
                            "the rest of the listing it was reading, and what that leads to"
                        ),
                        interrupted=not self.gateway.budget_spent,
                        scope=learned,
                        stripe_accounts=read,
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
            self._errors_with_budget(),
            contacts=dict(self._contacts),
            scope=self._learned(),
            stripe_accounts=self._stripe_accounts(),
        )

    def _errors_with_budget(self, rest: str | None = None) -> list[ScopeError]:
        """errors[], and the request_budget entry when --max-requests ran out."""
        errors = list(self._errors)
        if self.gateway.budget_spent:
            unread = sorted(self._unread, key=lambda s: (str(s.type), s.id or ""))
            listing = Scope(ScopeType.ACCOUNT, None, None)
            limit = self.gateway.settings.max_requests
            if self._list_cut:
                rest = rest or "the rest of the account list"
            errors.append(budget_error(limit, unread, listing, rest))
        return errors

    def _stripe_accounts(self) -> list[str] | None:
        if self._connected_request is None:
            return None
        with self._lock:
            return list(self._connected)

    def _feed(self, pool: WorkPool, scopes: Iterable[Scope] | None) -> None:
        backlog = self._concurrency * 4
        if scopes is None:
            self._feed_whole(pool, backlog)
        else:
            if isinstance(scopes, list):
                self.scopes_total = len(scopes)
            for scope in scopes:
                self._submit(pool, scope, backlog)

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
            if self.gateway.budget_spent:
                with self._lock:
                    if fn == self._discover:  # the unfiltered account list was cut short
                        self._list_cut = True
                    else:
                        self._unread.append(scope)
            return
        except RequestFailed as err:
            self._record(
                ScopeError(
                    scope, err.message, err.request_id, err.http_status, err.code, err.attempts,
                    tip(err),
                )
            )  # fmt: skip
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
                        self._contacts[str(scope.id)] = contact_of(customer)

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
            what = invalid_element(account, "account")
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
                if holder_label(first) != holder_label(account):
                    notes[oid] = conflict(holder_label(first), holder_label(account))
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
        oid = id_of(account.get("id"))
        if oid is not None:
            holder = holder_label(account)
            known = self._seen.setdefault(oid, holder)
            if known is not None:
                # Already reported (another page, another customer): never counted twice. A
                # different holder can no longer be noted on a finding already written.
                if known != holder:
                    self._record(
                        ScopeError(
                            Scope(ScopeType.ACCOUNT, oid, stripe_account),
                            f"listed again under {where} with {conflict(known, holder)}; "
                            "reported once, with the first",
                            request_id,
                        )
                    )
                return
        auth_value = account.get("authorization")
        auth = id_of(auth_value)
        bad_auth = auth is None or not is_stripe_id(auth, id_kinds.AUTHORIZATION.prefix)
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
        cid = id_of(holder.get("customer"))
        if cid is None or not is_stripe_id(cid, id_kinds.CUSTOMER.prefix):
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
            self._contacts[str(scope.id)] = contact_of(customer)

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
