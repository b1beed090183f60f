"""One JSON document: the versioned envelope with findings[] sorted by severity then date.

Each finding is serialized as it arrives into a temporary file, and its sort key and place are
sorted on disk (fcaudit/spill.py: an external merge sort); at the end the items are read back
in order. The
bytes are exactly those of one `dumps(doc, indent=2)`, but a report of a million findings never
sits in memory as findings, dicts, an index or one string: memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from fcaudit.model.findings import Finding
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions, write_all
from fcaudit.spill import SortedSpill, Spool
from fcaudit.text import dumps, dumps_bytes

if TYPE_CHECKING:
    from fcaudit.model.report import Groups

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
        # A run that fails before finish() drops the renderer: its files go with it.
        self._spool = Spool()
        self._order: SortedSpill[tuple[int, int]] = SortedSpill(item_bytes=300)

    def finding(self, finding: Finding) -> None:
        """Spool the finding's JSON; its place is sorted under its sort key."""
        # A JSON string never holds a raw newline, so every line of an item can be indented.
        data = _INDENT + dumps_bytes(finding.to_record(), indent=2).replace(b"\n", _NEWLINE)
        self._order.add(finding.sort_key(), self._spool.put(data))

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
            self._groups_array(result.groups)
            write_all(self._stream, middle + '"findings": ')
            self._findings_array()
            write_all(self._stream, end + "\n")
        finally:
            self._order.close()
            self._spool.close()

    def _groups_array(self, groups: Groups) -> None:
        self._items(
            (
                ITEM_INDENT + dumps(g.to_record(), indent=2).replace("\n", "\n" + ITEM_INDENT)
                for g in groups
            ),
            len(groups),
        )

    def _findings_array(self) -> None:
        spool = self._spool
        items = (spool.get(offset, length).decode("utf-8") for offset, length in self._order)
        self._items(items, len(self._order))

    def _items(self, items: Iterable[str], count: int) -> None:
        """An array of `count` items, each already indented: `[]` when there are none."""
        if not count:
            self._stream.write("[]")
            return
        self._stream.write("[\n")
        for i, item in enumerate(items):
            self._stream.write(item + (",\n" if i < count - 1 else "\n"))
        self._stream.write("  ]")
