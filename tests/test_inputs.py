"""Offline input parsing for `fcaudit classify`."""

from __future__ import annotations

import io
import json

import pytest

from fcaudit.errors import InputError
from fcaudit.inputs import read_items


def ids(text: str) -> list[str]:
    return [str(item.obj.get("id")) for item in read_items(io.StringIO(text), "in")]


def test_byte_order_mark_is_accepted() -> None:
    assert ids('\ufeff{"id": "fca_1"}\n') == ["fca_1"]


def test_null_first_line_is_an_error_with_a_location() -> None:
    with pytest.raises(InputError, match="in line 1: expected a JSON object, got NoneType"):
        ids('null\n{"id": "fca_1"}\n')


def test_ndjson_of_events_and_lists() -> None:
    event = {"object": "event", "id": "evt_1", "data": {"object": {"id": "fca_e"}}}
    listing = {"object": "list", "data": [{"id": "fca_l1"}, {"id": "fca_l2"}]}
    assert ids(json.dumps(event) + "\n" + json.dumps(listing) + "\n") == [
        "fca_e",
        "fca_l1",
        "fca_l2",
    ]


def test_event_version_is_carried() -> None:
    event = {"object": "event", "api_version": "2026-10-28.endive", "data": {"object": {}}}
    (item,) = read_items(io.StringIO(json.dumps(event)), "in")
    assert item.stripe_version == "2026-10-28.endive"
