"""Offline input for `fcaudit classify` and `fcaudit diff`: files and stdin as sources.

Objects, list objects, arrays, NDJSON and Events are read by `read_items`; `FileSource` hands
them to the runner; `ReportSource` replays the findings of a saved report.

NDJSON is read line by line so a file of any size classifies in flat memory; anything
else (one document, possibly pretty-printed) is parsed whole.

Decoding is orjson's (a quarter of json.loads' time, and a third of a big classify run was
JSON). What orjson refuses goes to json.loads, so the input accepted (NaN, lone surrogate
escapes, out-of-range floats) and the error messages stay the standard library's.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import orjson

from fcaudit.classify import NotClassifiable
from fcaudit.errors import InputError
from fcaudit.model.findings import EventRef
from fcaudit.model.report import ScopeError
from fcaudit.model.saved import SavedReport
from fcaudit.sources.base import Emit, Observed, SourceOutcome
from fcaudit.stripe.ids import ACCOUNT_OBJECT, AUTHORIZATION_OBJECT
from fcaudit.text import safe, valid_tree

# What a Financial Connections event may carry in data.object (an account or an
# authorization); other FC events (financial_connections.session.updated carries a session)
# are skipped, not errors. https://docs.stripe.com/api/events/types
FC_OBJECTS = frozenset({ACCOUNT_OBJECT, AUTHORIZATION_OBJECT})


_CONTAINERS = ("list", "event")  # `object` values that _expand unwraps


def _expand(value: Any, where: str) -> Iterator[Observed]:
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
        yield Observed(
            inner,
            f"{where} (event {safe(ref.id or '?')})",
            version if isinstance(version, str) else None,
            event=ref,
            foreign=kind is not None and kind not in FC_OBJECTS,
        )
    elif kind == "v2.core.event" or str(value.get("type") or "").startswith("v1."):
        # A thin event (event destinations; 2026-10-28.endive adds the FC refresh ones,
        # facts.FC_THIN_EVENT_TYPES): it names its object (`related_object`) and carries
        # no snapshot to classify offline. Skipped and counted, whatever its type.
        yield Observed(value, f"{where} (thin event)", foreign=True)
    else:
        yield Observed(value, where)


_LONG_NUMBER = re.compile(r"\d{4300,}")


def _loads(text: str) -> Any:
    """Decode one JSON document; an error is json.loads' own (`json.JSONDecodeError`).

    What orjson refuses goes to json.loads. What json.loads raises besides (RecursionError
    on deep nesting, ValueError on an integer of thousands of digits) becomes a
    `json.JSONDecodeError` too, with its position.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        # json.loads accepts lone surrogate escapes ("\\ud800"), which no UTF-8 output can
        # hold: they become U+FFFD here, as orjson-decoded input never has them.
        return valid_tree(json.loads(text))
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as err:  # "Exceeds the limit (4300 digits) for integer string conversion"
        match = _LONG_NUMBER.search(text)
        raise json.JSONDecodeError(
            "a number with too many digits" if match else str(err).split(":")[0],
            text,
            match.start() if match else 0,
        ) from None


class Utf8Lines:
    """A binary stream read as UTF-8, line by line: bytes that are not UTF-8 are an
    `InputError` naming the line, never a traceback, and never reach the terminal raw.

    Iterating yields each line as bytes, at the speed of the file's own iterator (orjson
    reads them as they are); `text()` decodes one, `read_text()` the rest of the stream."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw = raw
        self._name = name

    def text(self, data: bytes, line: int) -> str:
        """`data`, which starts at line `line`, as text."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            line += data.count(b"\n", 0, err.start)
            raise InputError(
                f"{self._name} line {line} is not UTF-8 text. Tip: the input must be JSON (UTF-8)."
            ) from None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._raw)

    def read_text(self, line: int) -> str:
        """The rest of the stream, which starts at line `line`, as text."""
        return self.text(self._raw.read(), line)


def _decode_error(err: json.JSONDecodeError, name: str, line_offset: int = 0) -> InputError:
    return InputError(
        f"{name}: invalid JSON at line {err.lineno + line_offset}, column {err.colno}: "
        f"{err.msg}. Tip: the input must be JSON, a JSON array, or one JSON object per line."
    )


_BOM = "\ufeff"  # a byte-order mark left by some editors


def read_items(stream: TextIO | Utf8Lines, name: str) -> Iterator[Observed]:
    """Yield every classifiable item in `stream`, raising `InputError` with a location.

    A `Utf8Lines` stream is read as bytes, which orjson decodes as they are (decoding each
    line to str first cost a tenth of a big classify run); a line is turned into text only
    when orjson refuses it. Any other stream is read as str."""
    binary = stream if isinstance(stream, Utf8Lines) else None
    lines: Iterator[Any] = iter(stream)  # bytes from Utf8Lines, else str
    first = ""
    line_no = 0
    for raw in lines:
        line_no += 1
        text = binary.text(raw, line_no) if binary else raw
        if text.strip():  # str.strip: a line of Unicode spaces (U+00A0) is blank too
            first = text.lstrip(_BOM)
            break
    if not first:
        raise InputError(f"{name}: no input. Tip: give a JSON file, or pipe JSON into '-'.")
    try:
        head = _loads(first)
        whole_line = True
    except json.JSONDecodeError:
        whole_line = False
    if not whole_line:
        # One multi-line document: read the rest and parse it whole.
        if isinstance(stream, Utf8Lines):
            text = first + stream.read_text(line_no + 1)
        else:
            text = first + stream.read()
        try:
            doc = _loads(text)
        except json.JSONDecodeError as err:
            raise _decode_error(err, name, line_no - 1) from None
        yield from _expand(doc, name)
        return
    # The first line is a complete value: treat the input as NDJSON.
    yield from _expand(head, f"{name} line {line_no}")
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    for raw in lines:
        line_no += 1
        if raw.isspace():
            continue
        try:
            try:
                value = loads(raw)
            except decode_error:  # NaN, not UTF-8, or not JSON: as json.loads reads it
                text = binary.text(raw, line_no) if binary else raw
                if text.isspace():  # Unicode spaces only (U+00A0): a blank line, as in str
                    continue
                value = _loads(text)
        except json.JSONDecodeError as err:
            raise InputError(
                f"{name} line {line_no}: invalid JSON at column {err.colno}: {err.msg}. "
                "Tip: NDJSON needs one complete JSON object per line."
            ) from None
        # The common line, one plain object, skips the generator of `_expand`.
        if type(value) is dict and value.get("object") not in _CONTAINERS:
            yield Observed(value, f"{name} line {line_no}")
        else:
            yield from _expand(value, f"{name} line {line_no}")


class FileSource:
    """Every object in a stream: one object, a list object, an array, NDJSON or Events."""

    stripe_version: str | None = None
    mode: str | None = None

    def __init__(self, stream: TextIO | Utf8Lines, name: str) -> None:
        self._stream = stream
        self._name = name

    def run(self, emit: Emit) -> SourceOutcome:
        """Read the stream and emit every FC object in it; events about other objects are counted
        and skipped."""
        outcome = SourceOutcome()
        try:
            for item in read_items(self._stream, self._name):
                if item.foreign:  # e.g. financial_connections.session.updated
                    outcome.events_skipped += 1
                    continue
                obj = item.obj
                if "tool" in obj or "recommendation" in obj:  # checked inline: every object
                    _refuse_fcaudit_output(item)
                emit(item)
        except KeyboardInterrupt:
            outcome.interrupted = True  # what was classified is still written
        except RecursionError:
            raise InputError(
                f"{safe(self._name)}: JSON nested too deeply. Tip: give Stripe objects."
            ) from None
        return outcome

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """The user gave this file: an object fcaudit can't classify is an input error (exit 2)."""
        # The user gave this file: an object fcaudit can't classify is an input error.
        raise InputError(f"{item.where}: {error}.")

    def stats(self) -> Mapping[str, Any]:
        """A file has no request counters."""
        return {}


@contextlib.contextmanager
def open_source(source: str) -> Iterator[TextIO | Utf8Lines]:
    """The named file, or stdin for '-', read as bytes and decoded line by line: bytes that
    are not UTF-8 are an input error naming the line."""
    name = "stdin" if source == "-" else safe(source)
    if source == "-":
        raw = getattr(sys.stdin, "buffer", None)
        yield Utf8Lines(raw, name) if raw is not None else sys.stdin
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115
    except OSError as err:
        raise InputError(
            f"cannot read {safe(source)}: {err.strerror}. Tip: check the path."
        ) from None
    try:
        yield Utf8Lines(handle, name)
    finally:
        handle.close()


def _refuse_fcaudit_output(item: Observed) -> None:
    """fcaudit's own output is not a Stripe object: classifying a finding again would read
    its flattened fields as if Stripe had sent them, and give wrong categories silently."""
    obj = item.obj
    tool = obj.get("tool")
    if tool is not None and isinstance(tool, Mapping) and tool.get("name") == "fcaudit":
        raise InputError(
            f"{item.where} is an fcaudit report, not Stripe objects. Tip: to compare two "
            "reports use 'fcaudit diff OLD.json NEW.json'; to classify again, give the Stripe "
            "objects (or events) themselves."
        )
    if "recommendation" in obj and "category" in obj:
        raise InputError(
            f"{item.where} is an fcaudit finding (NDJSON output), not a Stripe object. Tip: "
            "classify the Stripe objects (or events) themselves; 'fcaudit diff' compares JSON "
            "reports."
        )


class ReportSource:
    """The findings of a saved report, as they were classified (fcaudit diff)."""

    def __init__(self, report: SavedReport, name: str) -> None:
        self._report = report
        self._name = name
        env = report.envelope
        version, mode = env.get("stripe_version"), env.get("mode")
        self.stripe_version: str | None = version if isinstance(version, str) else None
        self.mode: str | None = mode if mode in ("live", "test") else None

    def run(self, emit: Emit) -> SourceOutcome:
        """Emit the report's findings as they were written, already classified."""
        for i, finding in enumerate(self._report.findings):
            emit(Observed({}, f"{self._name} findings[{i}]", finding=finding))
        return SourceOutcome()

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """Never called: a report's findings are already classified."""
        raise InputError(f"{item.where}: {error}.")  # never: findings are not reclassified

    def stats(self) -> Mapping[str, Any]:
        """A report read from disk has no request counters."""
        return {}
