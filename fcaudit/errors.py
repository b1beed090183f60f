"""Exit codes and the error hierarchy. No click import: cli.py is the one translation point."""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes. Part of the contract: see README "Exit codes"."""

    OK = 0
    FINDINGS = 1  # findings matched --fail-on
    USAGE = 2  # usage or input error
    AUTH = 3  # authentication or permission error
    API = 4  # an API or network error stopped the run
    INCOMPLETE = 5  # the run finished but some scopes failed (listed in errors[])
    INTERRUPTED = 130  # Ctrl-C / SIGTERM


class FcauditError(Exception):
    """Base class: carries the exit code cli.py turns it into."""

    exit_code: ClassVar[ExitCode] = ExitCode.API


class UsageError(FcauditError):
    """Bad flags, ids or input files."""

    exit_code = ExitCode.USAGE


class InputError(UsageError):
    """Unreadable or malformed input (classify)."""


class AuthError(FcauditError):
    """The key was rejected or lacks permission; retrying cannot help."""

    exit_code = ExitCode.AUTH


class ApiError(FcauditError):
    """An API or network failure that stopped the run."""

    exit_code = ExitCode.API
