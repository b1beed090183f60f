"""The event reader of the gateway (`iter_event_pages` / `iter_events`), Stripe faked."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from responses import matchers

from fcaudit.stripe.facts import FC_EVENT_TYPES
from fcaudit.stripe.failures import PaginationError
from fcaudit.stripe.gateway import EVENTS
from tests.conftest import API
from tests.factories import page
from tests.stripe.test_gateway import gateway


def event(n: int) -> dict[str, Any]:
    return {"id": f"evt_{n:03d}", "object": "event", "type": FC_EVENT_TYPES[0], "created": n}


def test_every_page_with_the_filters_stripe_documents(stripe_api: responses.RequestsMock) -> None:
    query = {
        "types[0]": FC_EVENT_TYPES[0],
        "types[1]": FC_EVENT_TYPES[1],
        "created[gte]": "1700000000",
        "delivery_success": "false",
        "limit": "100",
    }
    first = [event(n) for n in range(100)]
    stripe_api.get(
        API + EVENTS,
        json=page(first, EVENTS, has_more=True),
        match=[matchers.query_param_matcher(query)],
    )
    stripe_api.get(
        API + EVENTS,
        json=page([event(100)], EVENTS),
        match=[matchers.query_param_matcher({**query, "starting_after": "evt_099"})],
    )
    got = list(
        gateway().iter_events(
            [FC_EVENT_TYPES[0], FC_EVENT_TYPES[1], FC_EVENT_TYPES[0]],
            created_gte=1_700_000_000,
            delivery_success=False,
        )
    )
    assert [e["id"] for e in got] == [f"evt_{n:03d}" for n in range(101)]
    assert all(c.request.method == "GET" for c in stripe_api.calls)


def test_no_filters_and_an_incremental_cursor(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(
        API + EVENTS,
        json=page([event(1)], EVENTS),
        match=[matchers.query_param_matcher({"limit": "100", "created[gt]": "5"})],
    )
    pages = list(gateway().iter_event_pages(created_gt=5))
    assert [[e["id"] for e in p] for p in pages] == [["evt_001"]]


def test_more_than_20_types_is_a_bug_never_sent(stripe_api: responses.RequestsMock) -> None:
    with pytest.raises(ValueError, match="at most 20"):
        gateway().iter_event_pages([f"type.{n}" for n in range(21)])
    assert not stripe_api.calls


def test_the_pagination_guards_apply(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + EVENTS, json=page([event(1)], EVENTS, has_more=True))
    with pytest.raises(PaginationError, match="repeated a page"):
        list(gateway().iter_events())
