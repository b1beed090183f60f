"""Where a report goes: stdout, or a file replaced atomically when the run succeeds."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from fcaudit.errors import UsageError


class OutputTarget:
    """A text stream plus `commit()` / `discard()`.

    For a file, everything is written to a temporary file in the same directory, which
    `commit()` fsyncs and renames over the destination (atomic on POSIX): a reader never
    sees a half-written report, and a failed run leaves an existing report untouched.
    """

    def __init__(self, path: str | None, stdout: TextIO | None = None) -> None:
        self.path = Path(path) if path and path != "-" else None
        self._tmp: Path | None = None
        if self.path is None:
            self.stream: TextIO = stdout or sys.stdout
            return
        directory = self.path.parent
        if self.path.is_dir():
            raise UsageError(f"--output {self.path} is a directory. Tip: name a file.")
        if not directory.is_dir():
            raise UsageError(
                f"--output: directory {directory} does not exist. Tip: create it first."
            )
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        except OSError as err:
            raise UsageError(
                f"--output: cannot write in {directory}: {err.strerror}. Tip: check permissions."
            ) from None
        self._tmp = Path(tmp)
        self.stream = open(fd, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    @property
    def is_file(self) -> bool:
        return self.path is not None

    def commit(self) -> None:
        if self.path is None or self._tmp is None:
            self.stream.flush()
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        try:
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self._tmp, mode)
        os.replace(self._tmp, self.path)
        self._tmp = None

    def discard(self) -> None:
        if self._tmp is None:
            return
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()
        self._tmp = None
