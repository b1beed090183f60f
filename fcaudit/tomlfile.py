"""User-written TOML files (institution rules, suppressions): where an entry and its fields
are, so a mistake is reported with the file, the line and the field."""

from __future__ import annotations

import re
import tomllib
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
