"""Untrusted text: names from the API are shown literally, never as escapes or markup."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# C0/C1 controls, DEL, bidi overrides/isolates and line/paragraph separators.
_UNSAFE = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x200E, 0x200F, 0x2028, 0x2029]
_UNSAFE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]

_TERMINAL = {cp: (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}") for cp in _UNSAFE}
# In JSON every control character must be a \u escape; the rest are escaped too, so raw
# output can be printed to a terminal safely (json.dumps leaves C1 and bidi as-is).
_JSON = {cp: f"\\u{cp:04x}" for cp in _UNSAFE if cp >= 0x7F}


# Searching with a compiled class first keeps the common case (nothing to escape) cheap.
_TERMINAL_RE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _TERMINAL) + "]")


# Text shown on a terminal (table cells, stderr lines) is cut to this many characters: a
# 10 MB name must not take minutes to lay out. JSON and NDJSON keep the full value.
DISPLAY_LIMIT = 500
ELLIPSIS = "\u2026"


def safe(text: Any, *, limit: int | None = DISPLAY_LIMIT) -> str:
    """`text` with every control and bidi character made visible (`\\x1b`), cut to `limit`
    characters (an ellipsis marks the cut; `None`: no limit)."""
    plain = str(text)
    if limit is None:
        return plain if _TERMINAL_RE.search(plain) is None else plain.translate(_TERMINAL)
    cut = len(plain) > limit
    if cut:
        plain = plain[: limit - 1]
    if _TERMINAL_RE.search(plain) is not None:
        plain = plain.translate(_TERMINAL)
        if len(plain) > limit:
            plain, cut = plain[: limit - 1], True
    return plain + ELLIPSIS if cut else plain


# The same characters as `_JSON`, as they appear in UTF-8 (orjson writes bytes): DEL, C1
# (U+0080-U+009F), and the bidi marks, overrides, isolates and line/paragraph separators.
_JSON_UTF8_RE = re.compile(b"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]")
# Non-str keys become strings as json.dumps makes them; datetimes and dataclasses are refused
# (TypeError) as json.dumps refuses them, rather than silently given orjson's own format.
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_ORJSON |= orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON with non-ASCII kept readable but terminal-unsafe characters escaped.

    Byte for byte what `json.dumps(obj, ensure_ascii=False, indent=indent, separators=...)`
    followed by escaping `_JSON` wrote before, at a quarter of the cost (orjson): compact
    (`,` and `:`) without `indent`, `indent=2` otherwise (the only indent in use, and the one
    orjson has). One known difference: a float below 1e-4 prints as 0.00001, not 1e-05;
    fcaudit writes no such float (its only floats are durations rounded to milliseconds).
    """
    return dumps_bytes(obj, indent=indent).decode()


# orjson's options by (indent, newline): dumps_bytes runs once per finding.
_OPTIONS = {
    (indent, newline): _ORJSON
    | (orjson.OPT_INDENT_2 if indent else 0)
    | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    for indent in (None, 2)
    for newline in (False, True)
}


def dumps_bytes(obj: Any, *, indent: int | None = None, newline: bool = False) -> bytes:
    """`dumps()` as UTF-8 bytes (JSON's own encoding), optionally ending in a newline: what
    NDJSON and the JSON report write, without decoding to str and encoding again."""
    option = _OPTIONS.get((indent, newline))
    if option is None:
        raise ValueError(f"indent must be None or 2, got {indent!r}")
    try:
        data = orjson.dumps(obj, option=option)
    except TypeError as err:
        return _with_surrogates(obj, indent, newline, err)
    return _escaped(data)


_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def valid_text(text: str) -> str:
    """`text` with each lone surrogate (`"\\ud800"` in JSON: allowed by its escapes, but not
    Unicode text, so no UTF-8 writer accepts it) replaced by U+FFFD, as decoders do."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def valid_tree(value: Any) -> Any:
    """A decoded JSON document with `valid_text` applied to every string, keys included."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_text(k) if isinstance(k, str) else k: valid_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [valid_tree(v) for v in value]
    return value


def _with_surrogates(obj: Any, indent: int | None, newline: bool, err: TypeError) -> bytes:
    """A string holding a lone surrogate is not Unicode text, and orjson refuses it. Input is
    made valid where it is read (`valid_text`); what still holds one (a file name given on
    the command line) is written by the json module with each lone surrogate as U+FFFD: the
    same bytes otherwise, valid UTF-8 that jq reads (it stops at a lone surrogate escape),
    and never a crash."""
    if "surrogates" not in str(err):
        raise err
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators)
    text = _SURROGATE.sub(REPLACEMENT, text).translate(_JSON)
    return (text + "\n" if newline else text).encode()


def _escaped(data: bytes) -> bytes:
    """orjson's output with the terminal-unsafe characters escaped as json.dumps escapes
    control characters (`\\u202e`)."""
    if not _may_need_escape(data) or _JSON_UTF8_RE.search(data) is None:
        return data
    return data.decode().translate(_JSON).encode()


# U+2022 BULLET, which fcaudit's own advice writes on most lines ("the ... account ••1234").
_BULLET = "\u2022".encode()


def _may_need_escape(data: bytes) -> bool:
    """A cheap pre-check (substring counts run at memchr speed; the regex search over a line
    costs more than encoding it): False when `data` holds no lead byte of an unsafe character
    (DEL, 0xC2 for C1, 0xE2 for the bidi and separator characters) other than the 0xE2 of
    bullets."""
    if b"\x7f" in data or b"\xc2" in data:  # DEL is ASCII: checked first
        return True
    if data.isascii():  # half the lines of a typical run
        return False
    leads = data.count(b"\xe2")
    return leads != 0 and leads != data.count(_BULLET)
