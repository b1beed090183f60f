"""Offline input parsing for `fcaudit classify`."""

from __future__ import annotations

import io
import json

import pytest

from fcaudit.errors import InputError
from fcaudit.sources.base import Observed
from fcaudit.sources.files import Utf8Lines, read_items
from fcaudit.stripe.facts import FC_THIN_EVENT_TYPES


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


def test_what_orjson_refuses_is_still_read_as_json_reads_it() -> None:
    # NaN, lone surrogate escapes and out-of-range floats: json.loads accepts them.
    text = '{"id": "fca_1"}\n{"id": "fca_2", "x": NaN, "y": "\\ud800", "z": 1e400}\n'
    items = list(read_items(io.StringIO(text), "in"))
    assert [i.obj["id"] for i in items] == ["fca_1", "fca_2"]
    assert items[1].obj["z"] == float("inf")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "fca_1"}\n{"id": }\n', "in line 2: invalid JSON at column 8: Expecting value"),
        ('{"id": "fca_1"}\n\n  \n{"a": 1} x\n', "in line 4: invalid JSON at column 10: Extra data"),
        ('{\n  "id": "fca_1",\n}\n', "in: invalid JSON at line 3, column 1: Expecting property"),
    ],
)
def test_decode_errors_keep_the_json_module_messages(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ids(text)


def test_plain_objects_lists_and_events_mix_line_by_line() -> None:
    event = {"object": "event", "id": "evt_1", "data": {"object": {"id": "fca_e"}}}
    lines = [{"id": "fca_1", "object": "financial_connections.account"}, event, [{"id": "fca_a"}]]
    items = list(read_items(io.StringIO("".join(json.dumps(x) + "\n" for x in lines)), "in"))
    assert [i.obj["id"] for i in items] == ["fca_1", "fca_e", "fca_a"]
    assert [i.where for i in items] == ["in line 1", "in line 2 (event evt_1)", "in line 3, item 1"]


# -- the binary path: a file or stdin is read as bytes, which orjson decodes as they are ---


def _binary(data: bytes) -> list[Observed]:
    return list(read_items(Utf8Lines(io.BytesIO(data), "in"), "in"))


@pytest.mark.parametrize(
    "text",
    [
        '{"id": "fca_1"}\n\n  \n{"id": "fca_2", "x": NaN, "y": "\\ud800"}\n[{"id": "fca_3"}]\n',
        '\ufeff{"id": "fca_1"}\n{"object": "event", "id": "evt_1", "data": {"object": {}}}\n',
        '{\n  "object": "list",\n  "data": [{"id": "fca_1"}, {"id": "fca_2"}]\n}\n',
        '[{"id": "fca_é", "display_name": "Café 日本"}]',
        '\u00a0\n{"id": "fca_1"}\n\u00a0\u2003\n\x1c\n{"id": "fca_2"}\n',  # Unicode blanks
    ],
)
def test_bytes_and_text_read_alike(text: str) -> None:
    as_text = list(read_items(io.StringIO(text), "in"))
    as_bytes = _binary(text.encode("utf-8"))
    assert [(i.obj, i.where, i.event) for i in as_bytes] == [
        (i.obj, i.where, i.event) for i in as_text
    ]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'{"id": "fca_\xff"}\n', 1),  # the first line decides NDJSON or one document
        (b'{"id": "fca_1"}\n\n{"id": "fca_\xc3("}\n', 3),
        (b'{\n  "id": "fca_1",\n  "x": "\xfe"\n}\n', 3),  # one multi-line document
    ],
)
def test_bytes_that_are_not_utf8_name_their_line(data: bytes, line: int) -> None:
    with pytest.raises(InputError, match=f"^in line {line} is not UTF-8 text"):
        _binary(data)


def test_bytes_decode_errors_keep_the_json_module_messages() -> None:
    with pytest.raises(InputError, match="in line 2: invalid JSON at column 8: Expecting value"):
        _binary(b'{"id": "fca_1"}\n{"id": }\n')


@pytest.mark.parametrize(
    "kind", [*FC_THIN_EVENT_TYPES, "v1.financial_connections.account.new_thing"]
)
def test_thin_events_are_skipped_not_errors(kind: str) -> None:
    # Event destinations send thin events: they name their object and carry no snapshot.
    thin = {
        "id": "evt_thin",
        "object": "v2.core.event",
        "type": kind,
        "related_object": {"id": "fca_1", "type": "financial_connections.account"},
    }
    (item,) = read_items(io.StringIO(json.dumps(thin) + "\n"), "in")
    assert item.foreign  # counted in summary.events_skipped, never classified
