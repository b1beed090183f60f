"""Untrusted text: names from the API are shown literally, never as escapes or markup."""

from __future__ import annotations

import json
import re
from typing import Any

# C0/C1 controls, DEL, bidi overrides/isolates and line/paragraph separators.
_UNSAFE = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x200E, 0x200F, 0x2028, 0x2029]
_UNSAFE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]

_TERMINAL = {cp: (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}") for cp in _UNSAFE}
# In JSON every control character must be a \u escape; the rest are escaped too, so raw
# output can be printed to a terminal safely (json.dumps leaves C1 and bidi as-is).
_JSON = {cp: f"\\u{cp:04x}" for cp in _UNSAFE if cp >= 0x7F}


# Searching with a compiled class first keeps the common case (nothing to escape) cheap.
_TERMINAL_RE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _TERMINAL) + "]")
_JSON_RE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _JSON) + "]")


def safe(text: Any) -> str:
    """`text` with every control and bidi character made visible (`\\x1b`)."""
    plain = str(text)
    if _TERMINAL_RE.search(plain) is None:
        return plain
    return plain.translate(_TERMINAL)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON with non-ASCII kept readable but terminal-unsafe characters escaped."""
    text = json.dumps(
        obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":")
    )
    if _JSON_RE.search(text) is None:
        return text
    return text.translate(_JSON)
