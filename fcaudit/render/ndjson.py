"""NDJSON: one finding per line, written (and, in a scan, flushed) as soon as it arrives."""

from __future__ import annotations

from typing import BinaryIO, TextIO

from fcaudit.model import Finding, ReportMeta, ScanResult
from fcaudit.render.base import CHUNK, RenderOptions, write_bytes
from fcaudit.text import dumps_line


class NdjsonRenderer:
    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        # Lines are UTF-8 (JSON's encoding, whatever the locale says) and go straight to the
        # binary layer under the text stream: decoding each to str only to encode it again
        # was a tenth of an offline classify. A stream without one (StringIO) gets text.
        self._raw: BinaryIO | None = getattr(stream, "buffer", None)
        if self._raw is not None:
            stream.flush()  # anything already written as text goes first
        # A scan writes and flushes every line so `| jq` sees findings live. Offline classify
        # of a big file gathers lines into chunks: one write per line was a system call per
        # line whenever stdout is unbuffered (PYTHONUNBUFFERED, python -u).
        self._flush = options.flush_each
        self._pending: list[bytes] = []
        self._size = 0

    def finding(self, finding: Finding) -> None:
        line = dumps_line(finding.to_record())
        if self._flush:
            self._write(line)
            return
        self._pending.append(line)
        self._size += len(line)
        if self._size >= CHUNK:
            self.drain()

    def _write(self, data: bytes) -> None:
        if self._raw is None:
            self._stream.write(data.decode())
            if self._flush:
                self._stream.flush()
            return
        write_bytes(self._raw, data)
        if self._flush:
            self._raw.flush()

    def drain(self) -> None:
        """Write the lines gathered so far (the end of a run, or one stopped by an error)."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            self._write(data)

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        self.drain()
        if self._raw is not None:
            self._raw.flush()
        self._stream.flush()
