"""The offline source: objects saved to a file or piped in, classified without a network."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from fcaudit.classify import NotClassifiable
from fcaudit.errors import InputError
from fcaudit.inputs import Item, Utf8Lines, read_items
from fcaudit.model import SavedReport, ScopeError
from fcaudit.runner import Emit, Observed, SourceOutcome
from fcaudit.text import safe


class FileSource:
    """Every object in a stream: one object, a list object, an array, NDJSON or Events."""

    stripe_version: str | None = None
    mode: str | None = None

    def __init__(self, stream: TextIO | Utf8Lines, name: str) -> None:
        self._stream = stream
        self._name = name

    def run(self, emit: Emit) -> SourceOutcome:
        outcome = SourceOutcome()
        try:
            for item in read_items(self._stream, self._name):
                if item.foreign:  # e.g. financial_connections.session.updated
                    outcome.events_skipped += 1
                    continue
                obj = item.obj
                if "tool" in obj or "recommendation" in obj:  # checked inline: every object
                    _refuse_fcaudit_output(item)
                emit(Observed(obj, item.where, item.stripe_version, event=item.event))
        except KeyboardInterrupt:
            outcome.interrupted = True  # what was classified is still written
        except RecursionError:
            raise InputError(
                f"{safe(self._name)}: JSON nested too deeply. Tip: give Stripe objects."
            ) from None
        return outcome

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        # The user gave this file: an object fcaudit can't classify is an input error.
        raise InputError(f"{item.where}: {error}.")

    def stats(self) -> Mapping[str, Any]:
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


def _refuse_fcaudit_output(item: Item) -> None:
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
        for i, finding in enumerate(self._report.findings):
            emit(Observed({}, f"{self._name} findings[{i}]", finding=finding))
        return SourceOutcome()

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        raise InputError(f"{item.where}: {error}.")  # never: findings are not reclassified

    def stats(self) -> Mapping[str, Any]:
        return {}
