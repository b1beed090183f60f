"""fcaudit: audit Stripe Financial Connections accounts for broken and expiring bank links."""

from __future__ import annotations

# The one place the version is written: pyproject.toml reads it (tool.setuptools.dynamic), so
# a run never imports importlib.metadata to learn it (a tenth of a second's start-up).
__version__ = "0.1.0"
