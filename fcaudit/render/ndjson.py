"""NDJSON: one finding per line, written (and, in a scan, flushed) as soon as it arrives."""

from __future__ import annotations

import io
from typing import BinaryIO, TextIO

from fcaudit.model.findings import Finding
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions
from fcaudit.text import dumps_bytes


class NdjsonRenderer:
    """`-f ndjson`: one finding per line as it arrives, for `| jq` and log pipelines."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        # A scan flushes every line so `| jq` sees findings live; offline classify of a big
        # file leaves buffering to the stream.
        self._flush = options.flush_each
        self._own: BinaryIO | None = None
        self._out = self._binary(stream)

    def _binary(self, stream: TextIO) -> BinaryIO | None:
        """Lines are UTF-8 (JSON's encoding, whatever the locale says) and go straight to the
        buffered binary layer under the text stream: decoding each to str only to encode it
        again was a tenth of an offline classify. A stream without one (StringIO) gets text.

        Under `python -u` (PYTHONUNBUFFERED) that layer is the raw file: a buffered writer of
        our own over the same descriptor (which it leaves open) keeps offline classify from
        making a system call per line, and, like any buffered writer, keeps what a blocked
        write interrupted by Ctrl-C did not get out, so the partial report ends on whole
        lines."""
        binary = getattr(stream, "buffer", None)
        if binary is None:
            return None
        stream.flush()  # anything already written as text goes first
        if isinstance(binary, io.BufferedIOBase):
            return binary  # type: ignore[return-value]
        self._own = open(binary.fileno(), "wb", closefd=False)  # noqa: SIM115 - see finish()
        return self._own

    def finding(self, finding: Finding) -> None:
        """Write the finding's line now (flushed in a scan, so a reader sees it live)."""
        line = dumps_bytes(finding.to_record(), newline=True)
        if self._out is None:
            self._stream.write(line.decode())
            if self._flush:
                self._stream.flush()
            return
        self._out.write(line)
        if self._flush:
            self._out.flush()

    def drain(self) -> None:
        """Write out what is buffered (the end of a run, or one stopped by an error)."""
        (self._out or self._stream).flush()

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Flush the last lines and close our own buffered writer (never the stream itself)."""
        self.drain()
        if self._own is not None:
            self._own.close()  # the descriptor stays open (closefd=False)
            self._own = self._out = None
        self._stream.flush()
