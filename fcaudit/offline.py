"""The offline source: objects saved to a file or piped in, classified without a network."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from fcaudit.classify import NotClassifiable
from fcaudit.errors import InputError
from fcaudit.inputs import read_items
from fcaudit.model import ScopeError
from fcaudit.runner import Emit, Observed, SourceOutcome
from fcaudit.text import safe


class FileSource:
    """Every object in a stream: one object, a list object, an array, NDJSON or Events."""

    stripe_version: str | None = None
    mode: str | None = None

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name

    def run(self, emit: Emit) -> SourceOutcome:
        outcome = SourceOutcome()
        try:
            for item in read_items(self._stream, self._name):
                if item.foreign:  # e.g. financial_connections.session.updated
                    outcome.events_skipped += 1
                    continue
                emit(Observed(item.obj, item.where, item.stripe_version, event=item.event))
        except KeyboardInterrupt:
            outcome.interrupted = True  # what was classified is still written
        return outcome

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        # The user gave this file: an object fcaudit can't classify is an input error.
        raise InputError(f"{item.where}: {error}.")

    def stats(self) -> Mapping[str, Any]:
        return {}


@contextlib.contextmanager
def open_source(source: str) -> Iterator[TextIO]:
    """The named file, or stdin for '-'; bytes that are not UTF-8 are an input error."""
    if source == "-":
        yield sys.stdin
        return
    try:
        handle = open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        raise InputError(
            f"cannot read {safe(source)}: {err.strerror}. Tip: check the path."
        ) from None
    try:
        yield handle
    except UnicodeDecodeError:
        raise InputError(f"{safe(source)} is not UTF-8 text. Tip: give a JSON file.") from None
    finally:
        handle.close()
