"""CSV: one row per finding, written (and, in a scan, flushed) as soon as it arrives.

RFC 4180 through the standard library's writer (comma, CRLF, quotes only where needed), with a
header row of `COLUMNS`. Every cell is plain text made safe twice over:

- terminal-unsafe characters (C0/C1 controls, DEL, bidi overrides, line separators) become
  visible escapes as the table shows them (`fcaudit.text.safe`: `\\x1b`, `\\u202e`), so a
  newline inside a name is `\\x0a` and every row is one physical line;
- a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`
  so a spreadsheet shows it as text instead of running it as a formula. This applies to every
  cell, ids and numbers included (`days_until_deactivation` of a passed date reads `'-2`).

Rows come in the order findings arrive, as NDJSON lines do: relink_required accounts last in a
scan (their advice needs every account seen first). The group key is known per finding, so
nothing is held, except with contact details, which are known only at the end of the run.
"""

from __future__ import annotations

import csv
from typing import TextIO

from fcaudit.model.findings import CSV_COLUMNS, Finding, csv_values
from fcaudit.model.report import Contact, ReportMeta, ScanResult, group_key
from fcaudit.render.base import RenderOptions
from fcaudit.spill import DiskMap, SortedSpill
from fcaudit.text import safe

# The documented columns, in order (README "Formats"): the finding's group, then the cells
# fcaudit.model.findings.FIELDS declares for each field. Multi-valued cells join with ";".
COLUMNS: tuple[str, ...] = ("group_key", *CSV_COLUMNS)
# Added after the others with --contact (the group's customer; personal data).
CONTACT_COLUMNS: tuple[str, ...] = ("contact_name", "contact_email")

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One value as a safe CSV cell: None is empty, booleans as JSON spells them, controls
    escaped, and anything a spreadsheet would run as a formula prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    shown = safe(text, limit=None)  # a data format: whole values, as in JSON
    return "'" + shown if text.startswith(FORMULA_TRIGGERS) else shown


def values(finding: Finding, key: str | None) -> tuple[object, ...]:
    """The finding's values in `COLUMNS` order, before `cell()`."""
    return (key, *csv_values(finding))


class CsvRenderer:
    """`-f csv`: one row per finding, in `COLUMNS` order, every cell safe for a spreadsheet."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._writer = csv.writer(stream, lineterminator="\r\n")
        self._group_by = options.group_by
        self._flush = options.flush_each
        # Contact details belong to groups, which exist only at the end of the run: with
        # them, rows are held until then.
        self._contact = options.contact
        # Held in a spill (on disk beyond a few hundred): a million rows fit no memory.
        self._held: SortedSpill[Finding] = SortedSpill(item_bytes=3000)
        self._started = False

    def _header(self) -> None:
        # Written with the first row, not before: a run that fails before finding anything
        # prints nothing to stdout.
        if not self._started:
            self._started = True
            self._writer.writerow(COLUMNS + (CONTACT_COLUMNS if self._contact else ()))

    def finding(self, finding: Finding) -> None:
        """Write the finding's row at once (held until the end when contact details are shown)."""
        if self._contact:
            self._held.add(0, finding)  # one key: the order they came
            return
        self._header()
        self._writer.writerow(
            [cell(v) for v in values(finding, group_key(finding, self._group_by))]
        )
        if self._flush:
            self._stream.flush()

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Write the header if no row came, and the rows held for their contact details."""
        self._header()
        contacts: DiskMap[Contact] = DiskMap()
        contacts.update((g.key, g.contact) for g in result.groups if g.contact is not None)
        for f in self._held:
            key = group_key(f, self._group_by)
            contact = contacts.get(key) if key is not None else None
            extra = (contact.name, contact.email) if contact is not None else (None, None)
            self._writer.writerow([cell(v) for v in (*values(f, key), *extra)])
        self._stream.flush()
