"""One JSON document: the versioned envelope with findings[] sorted by severity then date.

Each finding is serialized as it arrives into a temporary file, and only its sort key and
place are kept; at the end the items are written out in order. The bytes are exactly those of
one `dumps(doc, indent=2)`, but a report of 100,000 findings never sits in memory as findings,
dicts or one string (an incremental run over a large store stays in flat memory).
"""

from __future__ import annotations

import contextlib
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from typing import IO, TextIO

from fcaudit.model.findings import Finding
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions, write_all
from fcaudit.text import dumps, dumps_bytes

ITEM_INDENT = "    "  # groups[] and findings[] items sit two levels deep
# A marker standing for the two long arrays while the rest of the document is serialized.
# Found as `"groups": "@@"`: quotes inside data are escaped, so only our keys look like that.
MARK = "@@"
_INDENT = ITEM_INDENT.encode()
_NEWLINE = b"\n" + _INDENT


class JsonRenderer:
    """`-f json`: the one versioned report document, findings sorted, without holding them
    in memory."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish(), or below
        # A run that fails before finish() drops the renderer: the spool goes with it.
        weakref.finalize(self, _close_quietly, self._spool)
        self._index: list[tuple[tuple[int, float, str], int, int]] = []

    def finding(self, finding: Finding) -> None:
        """Spool the finding's JSON to disk, keeping only its sort key and place."""
        # A JSON string never holds a raw newline, so every line of an item can be indented.
        data = _INDENT + dumps_bytes(finding.to_record(), indent=2).replace(b"\n", _NEWLINE)
        self._index.append((finding.sort_key(), self._spool.tell(), len(data)))
        self._spool.write(data)

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Write the document (envelope, groups[], then the spooled findings in order) and
        drop the spool."""
        try:
            # Groups and findings are arrays of many items: the head is written with a
            # marker in their place, and each item is written on its own.
            head = dumps({**meta.envelope(result, groups=MARK), "findings": MARK}, indent=2)
            before, _, after = head.partition(f'"groups": "{MARK}"')
            middle, _, end = after.partition(f'"findings": "{MARK}"')
            write_all(self._stream, before + '"groups": ')
            self._array([g.to_record() for g in result.groups])
            write_all(self._stream, middle + '"findings": ')
            self._findings_array()
            write_all(self._stream, end + "\n")
        finally:
            _close_quietly(self._spool)

    def _array(self, records: list[dict[str, object]]) -> None:
        self._items(
            (ITEM_INDENT + dumps(r, indent=2).replace("\n", "\n" + ITEM_INDENT) for r in records),
            len(records),
        )

    def _findings_array(self) -> None:
        self._index.sort()

        def items() -> Iterator[str]:
            """The spooled findings, read back one by one in sorted order."""
            for _, offset, length in self._index:
                self._spool.seek(offset)
                yield self._spool.read(length).decode("utf-8")

        self._items(items(), len(self._index))

    def _items(self, items: Iterable[str], count: int) -> None:
        """An array of `count` items, each already indented: `[]` when there are none."""
        if not count:
            self._stream.write("[]")
            return
        self._stream.write("[\n")
        for i, item in enumerate(items):
            self._stream.write(item + (",\n" if i < count - 1 else "\n"))
        self._stream.write("  ]")


def _close_quietly(spool: IO[bytes]) -> None:
    """Drop the spool. What it still buffered is thrown away with it, so a full disk (or a
    file-size limit) that made the run fail can't fail the clean-up again at exit."""
    with contextlib.suppress(OSError):
        spool.close()
