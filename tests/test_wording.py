"""fcaudit's own wording: no message pluralises a word with (s)."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _strings(path: Path) -> list[tuple[int, str]]:
    with path.open("rb") as handle:
        tokens = tokenize.tokenize(handle.readline)
        return [(t.start[0], t.string) for t in tokens if t.type == tokenize.STRING]


def test_no_word_is_pluralised_with_s_in_brackets() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in (ROOT / "fcaudit").rglob("*.py")
        for line, text in _strings(path)
        if re.search(r"\b(?!https?\()[a-z]+\(s\)", text)
    ]
    assert offenders == []
