"""The ``/v1`` endpoints: parameter validation, pagination, version gating and Stripe errors.

Pure request -> JSON logic over a :class:`~fcaudit.sandbox.data.Dataset`; the HTTP plumbing and
fault injection live in :mod:`fcaudit.sandbox.server`, the API key check in
:mod:`fcaudit.sandbox.auth`.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, overload
from urllib.parse import parse_qsl, unquote

from fcaudit.sandbox.data import (
    DAY,
    Dataset,
    render_account,
    render_connected_account,
    render_customer,
)
from fcaudit.sandbox.destinations import list_event_destinations, list_webhook_endpoints
from fcaudit.stripe.facts import EVENT_RETENTION_DAYS, MAX_EVENT_TYPES

_LIST_PARAMS: Final = frozenset({"expand", "types"})
_PAGINATION: Final = frozenset({"limit", "starting_after", "ending_before", "expand"})
_CREATED: Final = frozenset(
    {"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]"}
)
_HOLDER_FILTERS: Final = (
    "account_holder[account]",
    "account_holder[customer]",
    "account_holder[customer_account]",
    "session",
)

Endpoint = Callable[["Request"], dict[str, Any]]


EVENT_DESTINATIONS = "/v2/core/event_destinations"


class ApiError(Exception):
    """An error answered with Stripe's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers

    def body(self, request_id: str) -> dict[str, Any]:
        """Stripe's ``{"error": {...}}`` body for this error, logged under ``request_id``."""
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        err["type"] = self.type
        return {"error": err}


def _missing(noun: str, object_id: str, param: str | None, status: int = 404) -> ApiError:
    return ApiError(status, f"No such {noun}: '{object_id}'", code="resource_missing", param=param)


# The id GET /v1/account gives for the sandbox's own (platform) account.
PLATFORM_ACCOUNT = "acct_1FcauditSandbox00"


def unknown_stripe_account(account_id: str) -> ApiError:
    """Stripe's answer to a Stripe-Account header naming an account the key cannot act for
    (unknown, or access revoked): error code ``account_invalid``, "The account ID provided
    as a value for the Stripe-Account header is invalid"
    (https://docs.stripe.com/error-codes#account-invalid). Observed answers are a 403 with
    type ``invalid_request_error`` and this message, which also quotes the masked key; the
    sandbox never echoes any part of a key."""
    return ApiError(
        403,
        f"The provided key does not have access to account '{account_id}' (or that account "
        "does not exist). Application access may have been revoked.",
        code="account_invalid",
    )


def unrecognized(method: str, path: str, extra: str = "") -> ApiError:
    """Stripe's 404 for a URL no endpoint serves; ``extra`` adds a hint to the message."""
    message = (
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/." + extra
    )
    return ApiError(404, message, code="resource_missing")


# ---------------------------------------------------------------------------------------------
# Requests and parameters


@dataclass(slots=True)
class Request:
    """One ``/v1`` request as an endpoint reads it: query parameters (list parameters
    apart), whether its version is a preview one, and the ids its path captured."""

    method: str
    path: str
    params: dict[str, str]
    lists: dict[str, list[str]]
    preview: bool
    match: dict[str, str]


def parse_query(query: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Split a query string into plain parameters and list parameters (``expand[]``,
    ``types[]``), the way Stripe reads form-encoded arrays."""
    params: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        m = re.fullmatch(r"([a-z_]+)\[(\d*)\]", key)
        if m and m.group(1) in _LIST_PARAMS:
            lists.setdefault(m.group(1), []).append(value)
        elif key in _LIST_PARAMS:
            lists.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params, lists


def _check_params(
    req: Request, allowed: frozenset[str], lists: frozenset[str] = frozenset()
) -> None:
    for key, value in req.params.items():
        if key not in allowed:
            raise ApiError(
                400, f"Received unknown parameter: {key}", code="parameter_unknown", param=key
            )
        if value == "":
            raise ApiError(
                400,
                f"You passed an empty string for '{key}'. We assume empty values are an attempt to "
                "unset a parameter; however '{key}' cannot be unset. You should remove '{key}' "
                "from your request or supply a non-empty value.".replace("{key}", key),
                code="parameter_invalid_empty",
                param=key,
            )
    for key in req.lists:
        if key != "expand" and key not in lists:
            raise ApiError(
                400, f"Received unknown parameter: {key}", code="parameter_unknown", param=key
            )


def _integer(req: Request, key: str) -> int | None:
    raw = req.params.get(key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=key
        ) from None


def _created_filter(req: Request) -> Callable[[int], bool] | None:
    bounds = {op: _integer(req, key) for op, key in _created_keys()}
    if all(v is None for v in bounds.values()):
        return None

    def ok(created: int) -> bool:
        eq, gt, gte, lt, lte = (bounds[k] for k in ("eq", "gt", "gte", "lt", "lte"))
        return (
            (eq is None or created == eq)
            and (gt is None or created > gt)
            and (gte is None or created >= gte)
            and (lt is None or created < lt)
            and (lte is None or created <= lte)
        )

    return ok


def _created_keys() -> Iterator[tuple[str, str]]:
    yield "eq", "created"
    for op in ("gt", "gte", "lt", "lte"):
        yield op, f"created[{op}]"


def _paginate(
    req: Request,
    ids: Sequence[str],
    render: Callable[[str], dict[str, Any]],
    noun: str,
    position: Callable[[str], int | None] | None = None,
) -> dict[str, Any]:
    """Stripe cursor pagination over ``ids`` (already in list order, newest first)."""
    limit = _integer(req, "limit")
    if limit is None:
        limit = 10
    elif not 1 <= limit <= 100:
        raise ApiError(
            400,
            f"Invalid limit: must be between 1 and 100 (got {limit})",
            code="parameter_invalid_integer",
            param="limit",
        )
    after = req.params.get("starting_after")
    before = req.params.get("ending_before")
    if after is not None and before is not None:
        raise ApiError(
            400,
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    if position is None:
        index = {object_id: i for i, object_id in enumerate(ids)}
        position = index.get
    if after is not None:
        i = position(after)
        if i is None:
            raise _missing(noun, after, "starting_after", status=400)
        page = ids[i + 1 : i + 1 + limit]
        has_more = i + 1 + limit < len(ids)
    elif before is not None:
        i = position(before)
        if i is None:
            raise _missing(noun, before, "ending_before", status=400)
        start = max(0, i - limit)
        page = ids[start:i]
        has_more = start > 0
    else:
        page = ids[:limit]
        has_more = limit < len(ids)
    return {
        "object": "list",
        "data": [render(object_id) for object_id in page],
        "has_more": has_more,
        "url": req.path,
    }


class _EventIds(Sequence[str]):
    """Event ids at the given positions, without building the list."""

    def __init__(self, positions: Sequence[int], ids: list[str]) -> None:
        self._positions = positions
        self._ids = ids

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._ids[p] for p in self._positions[index]]
        return self._ids[self._positions[index]]


# ---------------------------------------------------------------------------------------------
# Endpoints


class Api:
    """The ``/v1`` endpoints over one data set.

    ``require_account_filter``: answer the unfiltered account list the way a Stripe that
    requires a holder or session filter would (a 400 ``invalid_request_error``), so the
    fan-out fallback of ``fcaudit scan --discovery auto`` can be exercised."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        require_account_filter: bool = False,
        account_id: str = PLATFORM_ACCOUNT,
    ) -> None:
        self.ds = dataset
        self.require_account_filter = require_account_filter
        self.account_id = account_id  # what GET /v1/account answers
        self.index = EventIndex(dataset.events)
        self.routes: list[tuple[re.Pattern[str], str, Endpoint]] = [
            (re.compile(r"/v1/customers"), "/v1/customers", self.list_customers),
            (re.compile(r"/v1/customers/(?P<id>[^/]+)"), "/v1/customers/{id}", self.customer),
            (
                re.compile(r"/v1/financial_connections/accounts"),
                "/v1/financial_connections/accounts",
                self.list_accounts,
            ),
            (
                re.compile(r"/v1/financial_connections/accounts/(?P<id>[^/]+)"),
                "/v1/financial_connections/accounts/{id}",
                self.account,
            ),
            (
                re.compile(r"/v1/financial_connections/authorizations/(?P<id>[^/]+)"),
                "/v1/financial_connections/authorizations/{id}",
                self.authorization,
            ),
            (re.compile(r"/v1/accounts"), "/v1/accounts", self.list_connected_accounts),
            (re.compile(r"/v1/account"), "/v1/account", self.own_account),
            (re.compile(r"/v1/events"), "/v1/events", self.list_events),
            (re.compile(r"/v1/events/(?P<id>[^/]+)"), "/v1/events/{id}", self.event),
            (re.compile(r"/v1/webhook_endpoints"), "/v1/webhook_endpoints", list_webhook_endpoints),
            (re.compile(EVENT_DESTINATIONS), EVENT_DESTINATIONS, list_event_destinations),
        ]

    def route(self, path: str) -> tuple[str, Endpoint, dict[str, str]] | None:
        """The endpoint serving ``path``: (route template, handler, captured ids), or None."""
        for pattern, template, handler in self.routes:
            m = pattern.fullmatch(path)
            if m:
                return template, handler, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    # -- customers -------------------------------------------------------------------------------
    def list_customers(self, req: Request) -> dict[str, Any]:
        """GET /v1/customers: the customers, newest first, filtered by ``created``, ``email``."""
        _check_params(req, _PAGINATION | _CREATED | {"email"})
        created = _created_filter(req)
        email = req.params.get("email")
        specs = self.ds.customer_specs
        if created is None and email is None:
            ids: Sequence[str] = self.ds.customer_ids
            position = self.ds.customer_position.get
        else:
            ids = [
                c
                for c in self.ds.customer_ids
                if (created is None or created(specs[c].created))
                and (email is None or specs[c].email == email)
            ]
            position = None
        return _paginate(req, ids, lambda c: render_customer(specs[c]), "customer", position)

    def customer(self, req: Request) -> dict[str, Any]:
        """GET /v1/customers/{id}: one customer, or Stripe's 404."""
        _check_params(req, frozenset({"expand"}))
        spec = self.ds.customer_specs.get(req.match["id"])
        if spec is None:
            raise _missing("customer", req.match["id"], "id")
        return render_customer(spec)

    # -- connected accounts ----------------------------------------------------------------------
    def own_account(self, req: Request) -> dict[str, Any]:
        """GET /v1/account: the account the key (or the Stripe-Account header) acts for."""
        _check_params(req, frozenset())
        return {"id": self.account_id, "object": "account", "livemode": False}

    def list_connected_accounts(self, req: Request) -> dict[str, Any]:
        """The platform's connected accounts, newest first (none in a connected account's
        own data set)."""
        _check_params(req, _PAGINATION | _CREATED)
        created = _created_filter(req)
        specs = self.ds.connected_specs
        ids: Sequence[str] = self.ds.connected_ids
        position: Callable[[str], int | None] | None = self.ds.connected_position.get
        if created is not None:
            ids = [a for a in ids if created(specs[a].created)]
            position = None
        return _paginate(
            req, ids, lambda a: render_connected_account(specs[a]), "account", position
        )

    # -- accounts --------------------------------------------------------------------------------
    def _render_account(self, req: Request) -> Callable[[str], dict[str, Any]]:
        specs = self.ds.account_specs
        return lambda a: render_account(specs[a], preview=req.preview)

    def list_accounts(self, req: Request) -> dict[str, Any]:
        """GET /v1/financial_connections/accounts: every FC account, or one holder's or
        one session's (one filter at most), newest first."""
        _check_params(req, _PAGINATION | frozenset(_HOLDER_FILTERS))
        given = [k for k in _HOLDER_FILTERS if k in req.params]
        if len(given) > 1:
            # Documented: only one of account_holder[account], account_holder[customer],
            # account_holder[customer_account], session.
            raise ApiError(
                400,
                "You may only specify one of these parameters: " + ", ".join(_HOLDER_FILTERS) + ".",
                param=given[-1],
            )
        ids: Sequence[str] | None
        position = None
        if not given and self.require_account_filter:
            # --require-account-filter: what a Stripe that refuses the unfiltered list would
            # plausibly say (the real wording, if any, is unknown).
            raise ApiError(
                400,
                "You must provide one of these parameters: " + ", ".join(_HOLDER_FILTERS) + ".",
                code="parameter_missing",
                param="account_holder",
            )
        if not given:
            ids = self.ds.account_ids
            position = self.ds.account_position.get
        else:
            key = given[0]
            value = req.params[key]
            if key == "session":
                ids = self.ds.session_accounts(value)
                noun = "financial connections session"
            else:
                ids = self.ds.holder_accounts(value)
                noun = "customer" if key.endswith("[customer]") else "account"
                # Each filter takes only its own kind of holder: a v1 customer (cus_), a
                # connected account, or an Accounts-v2 customer (acct_); another is missing.
                if key.endswith("[customer]"):
                    wanted = value in self.ds.customer_specs
                elif key.endswith("[customer_account]"):
                    wanted = value in self.ds.customer_account_ids
                else:
                    wanted = value in self.ds.holder_account_ids
                if not wanted:
                    ids = None
            if ids is None:
                raise _missing(noun, value, key)
        return _paginate(
            req, ids, self._render_account(req), "financial connections account", position
        )

    def account(self, req: Request) -> dict[str, Any]:
        """GET /v1/financial_connections/accounts/{id}: one FC account, with the
        preview-only fields when a preview version asks."""
        _check_params(req, frozenset({"expand"}))
        spec = self.ds.account_specs.get(req.match["id"])
        if spec is None:
            raise _missing("financial connections account", req.match["id"], "account")
        return render_account(spec, preview=req.preview)

    def authorization(self, req: Request) -> dict[str, Any]:
        """GET /v1/financial_connections/authorizations/{id}: one authorization; the
        endpoint exists in preview versions only."""
        if not req.preview:
            # The endpoint only exists in preview versions (reference doc §3).
            raise unrecognized(
                req.method,
                req.path,
                " This endpoint requires a preview API version"
                " (Stripe-Version: YYYY-MM-DD.preview).",
            )
        _check_params(req, frozenset({"expand"}))
        spec = self.ds.authorization_specs.get(req.match["id"])
        if spec is None:
            raise _missing("financial connections authorization", req.match["id"], "authorization")
        return self.ds.authorization(spec.id)

    # -- events ----------------------------------------------------------------------------------
    def reindex_events(self) -> None:
        """Index `dataset.events` again after it changed (the control endpoint appends
        events): one new index, swapped in whole, so a listing never sees half of it."""
        self.index = EventIndex(self.ds.events)

    def _retained_after(self) -> int:
        """Events at or before this time are gone: Stripe lists the last 30 days only
        (https://docs.stripe.com/api/events/list), counted from the sandbox's clock."""
        return self.ds.now_ts - EVENT_RETENTION_DAYS * DAY

    def list_events(self, req: Request) -> dict[str, Any]:
        """GET /v1/events: the retained events, newest first, filtered by ``type`` or
        ``types``, ``created`` and ``delivery_success``."""
        _check_params(
            req, _PAGINATION | _CREATED | {"type", "delivery_success"}, lists=frozenset({"types"})
        )
        index = self.index
        etype = req.params.get("type")
        types = req.lists.get("types")
        if etype is not None and types is not None:
            raise ApiError(
                400, "You may only specify one of these parameters: type, types.", param="types"
            )
        if types is not None and len(types) > MAX_EVENT_TYPES:
            raise ApiError(
                400,
                f"Invalid array: types must have at most {MAX_EVENT_TYPES} elements "
                f"(got {len(types)})",
                code="parameter_invalid_array",
                param="types",
            )
        delivered = _boolean(req, "delivery_success")
        if etype is not None:
            pattern = re.compile(".*".join(re.escape(part) for part in etype.split("*")))
            matched = [t for t in index.by_type if pattern.fullmatch(t)]
        elif types is not None:
            matched = [t for t in index.by_type if t in set(types)]
        else:
            matched = None
        # Events are sorted newest first, so a created range is one slice of positions.
        lo, hi = index.created_range(req, self._retained_after())
        positions: Sequence[int]
        if matched is None:
            positions = range(lo, hi)
        else:
            merged = sorted(heapq.merge(*(index.by_type[t] for t in matched)))
            positions = merged[bisect.bisect_left(merged, lo) : bisect.bisect_left(merged, hi)]
        events = index.events
        if delivered is not None:
            # delivery_success=false: events a webhook endpoint has not acknowledged (still
            # pending, or every attempt failed): pending_webhooks > 0. true: the others.
            positions = [p for p in positions if (_pending(events[p]) == 0) is delivered]
        view = _EventIds(positions, index.ids)

        def position(event_id: str) -> int | None:
            at = index.position.get(event_id)
            if at is None:
                return None
            k = bisect.bisect_left(positions, at)
            return k if k < len(positions) and positions[k] == at else None

        return _paginate(req, view, lambda i: events[index.position[i]], "event", position)

    def event(self, req: Request) -> dict[str, Any]:
        """GET /v1/events/{id}: one event still within the retention window, or a 404."""
        _check_params(req, frozenset({"expand"}))
        event = self.index.by_id.get(req.match["id"])
        if event is None or int(event["created"]) <= self._retained_after():
            raise _missing("event", req.match["id"], "id")
        return event


def _boolean(req: Request, key: str) -> bool | None:
    raw = req.params.get(key)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean: {raw}", code="parameter_invalid_boolean", param=key)
    return raw == "true"


def _pending(event: Mapping[str, Any]) -> int:
    value = event.get("pending_webhooks")
    return value if isinstance(value, int) else 0


class EventIndex:
    """The event list (newest first) and its lookups: by id, by type, by `created`."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.ids = [str(e["id"]) for e in events]
        self.by_id = dict(zip(self.ids, events, strict=True))
        self.position = {event_id: i for i, event_id in enumerate(self.ids)}
        self.neg_created = [-int(e["created"]) for e in events]  # ascending
        self.by_type: dict[str, list[int]] = {}
        for i, e in enumerate(events):
            self.by_type.setdefault(str(e["type"]), []).append(i)

    def created_range(self, req: Request, retained_after: int) -> tuple[int, int]:
        """The [lo, hi) positions of events matching the created[...] filters, and newer
        than `retained_after`."""
        neg = self.neg_created
        lo, hi = 0, bisect.bisect_left(neg, -retained_after)
        for op, key in _created_keys():
            value = _integer(req, key)
            if value is None:
                continue
            if op in ("gt", "eq", "gte"):
                cut = bisect.bisect_left if op == "gt" else bisect.bisect_right
                hi = min(hi, cut(neg, -value))
            if op in ("lt", "eq", "lte"):
                cut = bisect.bisect_right if op == "lt" else bisect.bisect_left
                lo = max(lo, cut(neg, -value))
        return lo, max(lo, hi)
