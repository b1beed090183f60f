"""Where a report goes: stdout, a file replaced atomically when the run succeeds, or a device.

For a regular file, everything is written to a temporary file in the same directory, which
`commit()` fsyncs and renames over the destination (atomic on POSIX): a reader never sees a
half-written report, and a failed run leaves an existing report untouched. A symlink to a
regular file is followed, so the file it points to is the one replaced.

Anything else is written through, never replaced or resolved: `/dev/stdout`, `/dev/stderr`
and `/dev/fd/N` reuse the process's own descriptor (so `-o /dev/stdout >> log` appends, as the
shell asked, instead of truncating the log), and devices and named pipes are opened as they are.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from fcaudit.errors import UsageError
from fcaudit.text import safe

# Paths that name one of this process's descriptors (Linux and the BSDs spell them so).
_FD_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def _own_descriptor(path: str) -> int | None:
    if path in _STD_PATHS:
        return _STD_PATHS[path]
    match = _FD_PATH.match(path)
    return int(match.group(1)) if match else None


def same_file(source: str, output: str | None) -> bool:
    """True when writing `output` would replace the input `source` ('-': stdin, when stdin
    is redirected from a file), symlinks and hard links included."""
    if not output or output == "-":
        return False
    try:
        out = os.stat(output)
        src = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, ValueError):
        return False
    return (src.st_dev, src.st_ino) == (out.st_dev, out.st_ino) and stat.S_ISREG(out.st_mode)


def prepare_stdout(stream: TextIO, *, terminal: bool) -> None:
    """Reports in a file format (JSON, NDJSON, CSV, Markdown, HTML, Prometheus) are UTF-8
    whatever the locale says: under PYTHONIOENCODING=latin-1 they stopped with a traceback at
    the first name outside it. The table, for a terminal, keeps the terminal's encoding and
    shows what that can't encode as escapes (`\\u307f`)."""
    reconfigure = getattr(stream, "reconfigure", None)
    try:
        utf8 = codecs.lookup(str(getattr(stream, "encoding", None) or "utf-8")).name == "utf-8"
    except LookupError:
        utf8 = False
    if reconfigure is None or utf8:
        return
    if terminal:
        reconfigure(errors="backslashreplace")
    else:
        reconfigure(encoding="utf-8")


class OutputTarget:
    """A text stream plus `commit()` / `discard()`."""

    def __init__(
        self, path: str | None, stdout: TextIO | None = None, *, flag: str = "--output"
    ) -> None:
        self.path = Path(path) if path and path != "-" else None
        self._flag = flag
        self._tmp: Path | None = None
        self._replace: Path | None = None
        self._owned = False  # a stream we opened, closed on commit/discard
        if path is None or path == "-":
            self.stream: TextIO = stdout or sys.stdout
            return
        if path.endswith(os.sep):
            raise UsageError(f"{flag} {safe(path)} names a directory. Tip: name a file in it.")
        fd = _own_descriptor(path)
        if fd is not None:
            self.stream = self._dup(fd, path)
            return
        try:
            mode = os.stat(path).st_mode  # follows symlinks
        except FileNotFoundError:
            mode = None
        except OSError as err:
            raise UsageError(f"{self._flag} {safe(path)}: {err.strerror}.") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"{self._flag} {safe(path)} is a directory. Tip: name a file.")
        if mode is not None and not stat.S_ISREG(mode):
            self.stream = self._open_direct(path)
            return
        # A regular file (or a new one): replace the file a symlink points to, not the link.
        real = Path(os.path.realpath(path))
        if not real.parent.is_dir():
            raise UsageError(
                f"{self._flag}: directory {safe(real.parent)} does not exist. Tip: create it first."
            )
        self._replace = real
        try:
            handle, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        except OSError as err:
            raise UsageError(
                f"{self._flag}: cannot write {safe(real)}: {err.strerror}. Tip: check permissions."
            ) from None
        self._tmp = Path(tmp)
        self._owned = True
        self.stream = open(handle, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def _dup(self, fd: int, path: str) -> TextIO:
        try:
            copy = os.dup(fd)
        except OSError as err:
            raise UsageError(f"{self._flag} {safe(path)}: {err.strerror}.") from None
        self._owned = True
        return open(copy, "w", encoding="utf-8", newline="\n")

    def _open_direct(self, path: str) -> TextIO:
        try:
            stream = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        except OSError as err:
            raise UsageError(
                f"{self._flag}: cannot write {safe(path)}: {err.strerror}. Tip: check permissions."
            ) from None
        self._owned = True
        return stream

    @property
    def is_file(self) -> bool:
        """True when the output is a file (written atomically), not stdout."""
        return self.path is not None

    def commit(self) -> None:
        """Move the finished file into place, atomically: an earlier report is replaced only now."""
        self.stream.flush()
        if self._tmp is None or self._replace is None:
            if self._owned:
                self.stream.close()
            return
        os.fsync(self.stream.fileno())
        self.stream.close()
        try:
            mode = self._replace.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self._tmp, mode)
        os.replace(self._tmp, self._replace)
        self._tmp = None

    def discard(self) -> None:
        """Drop the unfinished file: the earlier report stays as it was."""
        if self._owned:
            with contextlib.suppress(OSError):
                self.stream.close()
        if self._tmp is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()
        self._tmp = None
