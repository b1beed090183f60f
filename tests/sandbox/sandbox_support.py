"""Constants and helpers shared by the sandbox tests (a uniquely named module, not conftest)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import stripe

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PREVIEW = "2026-09-30.preview"
GA = "2026-09-30.endive"

MakeClient = Callable[..., stripe.StripeClient]
RawGet = Callable[..., tuple[int, dict[str, str], Any]]


def raw_request(
    base_url: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One plain HTTP request on a fresh connection; returns (status, headers, JSON body)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), json.loads(data) if data else None
    finally:
        conn.close()
