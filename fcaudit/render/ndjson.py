"""NDJSON: one finding per line, written and flushed as soon as it is classified."""

from __future__ import annotations

from typing import TextIO

from fcaudit.findings import Finding
from fcaudit.render.base import ReportMeta
from fcaudit.scan import ScanResult
from fcaudit.text import dumps


class NdjsonRenderer:
    def __init__(self, stream: TextIO, meta: ReportMeta) -> None:
        self._stream = stream
        # A scan flushes every line so `| jq` sees findings live; offline classify of a big
        # file leaves buffering to the stream.
        self._flush = meta.flush_each

    def finding(self, finding: Finding) -> None:
        self._stream.write(dumps(finding.to_record()) + "\n")
        if self._flush:
            self._stream.flush()

    def finish(self, result: ScanResult) -> None:
        self._stream.flush()
