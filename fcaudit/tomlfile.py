"""User-written TOML files (institution rules, suppressions): where an entry and its fields
are, so a mistake is reported with the file, the line and the field."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

from fcaudit.errors import UsageError
from fcaudit.text import safe


def read(path: str, flag: str) -> str:
    """The file's text; a one-line UsageError (exit 2) when it can't be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as err:
        raise UsageError(f"{flag} {safe(path)}: {err.strerror}. Tip: check the path.") from None
    except UnicodeDecodeError:
        raise UsageError(f"{flag} {safe(path)} is not UTF-8 text.") from None


def parse(text: str, name: str, tip: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error is a UsageError naming the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{safe(name)}: {err}. Tip: {tip}") from None


class Locator:
    """Line numbers of the entries of an array of tables (`[[rule]]`) and their fields."""

    def __init__(self, text: str, table: str) -> None:
        self.lines = text.splitlines()
        header = f"[[{table}]]"
        self.starts = [i for i, line in enumerate(self.lines) if line.strip() == header]

    def line(self, index: int, field: str | None = None) -> int:
        """The 1-based line of entry `index`'s `field` (or of the entry's header)."""
        if index >= len(self.starts):
            return 1
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines)
        if field is not None:
            pattern = re.compile(rf"^\s*{re.escape(field)}\s*=")
            for i in range(start, end):
                if pattern.match(self.lines[i]):
                    return i + 1
        return start + 1


Fail = Callable[[str, str], UsageError]  # (field, problem) -> the error to raise


class Entries:
    """A file made of one array of tables (`[[rule]]`, `[[ignore]]`): its entries, and for
    each a `fail(field, problem)` naming the file, line, entry and field."""

    def __init__(self, text: str, name: str, table: str, *, noun: str, plural: str, tip: str):
        self._where = safe(name)
        self._noun = noun
        self._tip = tip
        doc = parse(text, name, tip)
        self._locate = Locator(text, table)
        unknown = set(doc) - {table}
        if unknown:
            raise UsageError(
                f"{self._where}: unknown table {sorted(unknown)[0]!r}; {plural} are [[{table}]]."
            )
        items = doc.get(table, [])
        if not isinstance(items, list):
            raise UsageError(f"{self._where}: '{table}' must be an array of tables ([[{table}]]).")
        self.items: list[Any] = items

    def line(self, index: int) -> int:
        """The line of entry `index`'s header."""
        return self._locate.line(index)

    def fail(self, index: int) -> Fail:
        """A function that builds the error for one field of entry `index`."""

        def fail(field: str, problem: str) -> UsageError:
            line = self._locate.line(index, field.split(".")[-1])
            return UsageError(
                f"{self._where} line {line}: {self._noun} {index + 1}, field '{field}': "
                f"{problem}. Tip: {self._tip}"
            )

        return fail
