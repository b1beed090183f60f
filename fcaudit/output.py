"""Where a report goes: stdout, or a file replaced atomically when the run succeeds."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from fcaudit.errors import UsageError


class OutputTarget:
    """A text stream plus `commit()` / `discard()`.

    For a regular file, everything is written to a temporary file in the same directory,
    which `commit()` fsyncs and renames over the destination (atomic on POSIX): a reader never
    sees a half-written report, and a failed run leaves an existing report untouched. A
    symlink is followed, so the file it points to is the one replaced. Something that is not
    a regular file (`/dev/null`, `/dev/stdout`, a named pipe) is written to directly: it
    can't be replaced, and must never be.
    """

    def __init__(self, path: str | None, stdout: TextIO | None = None) -> None:
        self.path = Path(path) if path and path != "-" else None
        self._tmp: Path | None = None
        if self.path is None:
            self.stream: TextIO = stdout or sys.stdout
            return
        real = Path(os.path.realpath(self.path))
        try:
            mode = real.stat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as err:
            raise UsageError(f"--output {self.path}: {err.strerror}.") from None
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"--output {self.path} is a directory. Tip: name a file.")
        if mode is not None and not stat.S_ISREG(mode):
            self.stream = self._open(real, direct=True)
            return
        if not real.parent.is_dir():
            raise UsageError(
                f"--output: directory {real.parent} does not exist. Tip: create it first."
            )
        self._replace = real
        self.stream = self._open(real, direct=False)

    def _open(self, real: Path, *, direct: bool) -> TextIO:
        try:
            if direct:
                return open(real, "w", encoding="utf-8", newline="\n")
            fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        except OSError as err:
            raise UsageError(
                f"--output: cannot write {real}: {err.strerror}. Tip: check permissions."
            ) from None
        self._tmp = Path(tmp)
        return open(fd, "w", encoding="utf-8", newline="\n")

    @property
    def is_file(self) -> bool:
        return self.path is not None

    def commit(self) -> None:
        self.stream.flush()
        if self._tmp is None:
            if self.path is not None:
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
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
        if self._tmp is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()
        self._tmp = None
