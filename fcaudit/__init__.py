"""fcaudit: audit Stripe Financial Connections accounts for broken and expiring bank links."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # The version is read from the installed metadata only when asked for: importing
    # importlib.metadata costs more than the rest of `fcaudit --help`.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("fcaudit")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'fcaudit' has no attribute {name!r}")
