"""Offline input for `fcaudit classify`: objects, list objects, arrays, NDJSON and Events.

NDJSON is read line by line so a file of any size classifies in flat memory; anything
else (one document, possibly pretty-printed) is parsed whole.

Decoding is orjson's (a quarter of json.loads' time, and a third of a big classify run was
JSON). What orjson refuses goes to json.loads, so the input accepted (NaN, lone surrogate
escapes, out-of-range floats) and the error messages stay the standard library's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from fcaudit.errors import InputError
from fcaudit.model import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT, EventRef
from fcaudit.text import safe

# What a Financial Connections event may carry in data.object (an account or an
# authorization); other FC events (financial_connections.session.updated carries a session)
# are skipped, not errors. https://docs.stripe.com/api/events/types
FC_OBJECTS = frozenset({ACCOUNT_OBJECT, AUTHORIZATION_OBJECT})


@dataclass(frozen=True)
class Item:
    """One object to classify, where it came from, and the API version it was rendered in.

    `event` is set when the object came from an Event; `foreign` when that event's object is
    not an FC account or authorization (the caller skips and counts it)."""

    obj: Mapping[str, Any]
    where: str
    stripe_version: str | None = None
    event: EventRef | None = None
    foreign: bool = False


_CONTAINERS = ("list", "event")  # `object` values that _expand unwraps


def _expand(value: Any, where: str) -> Iterator[Item]:
    """A document's objects: list objects and arrays are flattened, events unwrapped."""
    if isinstance(value, list):
        for i, entry in enumerate(value):
            yield from _expand(entry, f"{where}, item {i + 1}")
        return
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__}.")
    kind = value.get("object")
    if kind == "list" and isinstance(value.get("data"), list):
        yield from _expand(value["data"], where)
    elif kind == "event":
        data = value.get("data")
        inner = data.get("object") if isinstance(data, Mapping) else None
        if not isinstance(inner, Mapping):
            raise InputError(f"{where}: event has no data.object.")
        version = value.get("api_version")
        ref = EventRef.of(value)
        kind = inner.get("object")
        yield Item(
            inner,
            f"{where} (event {safe(ref.id or '?')})",
            version if isinstance(version, str) else None,
            event=ref,
            foreign=kind is not None and kind not in FC_OBJECTS,
        )
    else:
        yield Item(value, where)


def _loads(text: str) -> Any:
    """Decode one JSON document; an error is json.loads' own (`json.JSONDecodeError`)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _decode_error(err: json.JSONDecodeError, name: str, line_offset: int = 0) -> InputError:
    return InputError(
        f"{name}: invalid JSON at line {err.lineno + line_offset}, column {err.colno}: "
        f"{err.msg}. Tip: the input must be JSON, a JSON array, or one JSON object per line."
    )


def read_items(stream: TextIO, name: str) -> Iterator[Item]:
    """Yield every classifiable item in `stream`, raising `InputError` with a location."""
    first = ""
    line_no = 0
    for raw in stream:
        line_no += 1
        if raw.strip():
            first = raw
            break
    if not first:
        raise InputError(f"{name}: no input. Tip: give a JSON file, or pipe JSON into '-'.")
    first = first.lstrip("\ufeff")  # a byte-order mark left by some editors
    try:
        head = _loads(first)
        whole_line = True
    except json.JSONDecodeError:
        whole_line = False
    if not whole_line:
        # One multi-line document: read the rest and parse it whole.
        text = first + stream.read()
        try:
            doc = _loads(text)
        except json.JSONDecodeError as err:
            raise _decode_error(err, name, line_no - 1) from None
        yield from _expand(doc, name)
        return
    # The first line is a complete value: treat the input as NDJSON.
    yield from _expand(head, f"{name} line {line_no}")
    for raw in stream:
        line_no += 1
        if raw.isspace():
            continue
        try:
            value = _loads(raw)
        except json.JSONDecodeError as err:
            raise InputError(
                f"{name} line {line_no}: invalid JSON at column {err.colno}: {err.msg}. "
                "Tip: NDJSON needs one complete JSON object per line."
            ) from None
        # The common line, one plain object, skips the generator of `_expand`.
        if type(value) is dict and value.get("object") not in _CONTAINERS:
            yield Item(value, f"{name} line {line_no}")
        else:
            yield from _expand(value, f"{name} line {line_no}")
