"""Writes tests/golden/input.ndjson: one object per classification case (run once, by hand).

The golden files beside it are the contract's exact output for this input; regenerate them
with `UPDATE_GOLDEN=1 make test` only when the contract changes on purpose (CHANGELOG).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.factories import account, authorization, expiring, inactive, ts


def _with(obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**obj, **fields}


def _number(status: str, days: float | None) -> dict[str, Any]:
    expiry = ts(days) if days is not None else None
    return {
        "identifier_type": "tokenized_account_number",
        "status": status,
        "expected_expiry_date": expiry,
        "supported_networks": ["ach"],
    }


OBJECTS = [
    account("fca_relink", status="inactive", status_details=inactive()),
    account("fca_closed", status="inactive", status_details=inactive("account_closed", "none")),
    account("fca_noinfo", status="inactive", omit_status_details=True, institution="Chase"),
    account("fca_oddaction", status="inactive", status_details=inactive("x", "call_us")),
    account("fca_soon", status_details=expiring(5), institution="Wells Fargo"),
    account("fca_passed", status_details=expiring(-2), institution="Wells Fargo"),
    account("fca_later", status_details=expiring(90)),
    account("fca_fine", display_name="Savings", last4="0001"),
    account("fca_gone", status="disconnected", customer=None, authorization=None),
    account("fca_weird", status="suspended_future", institution="Caixa Geral de Depósitos"),
    account("fca_hostile", display_name="[bold red]x[/] \x1b]0;T\x07", institution="<b>Bank\u202e"),
    _with(account("fca_nonumber", institution="Chase"), account_numbers=[_number("expired", -9)]),
    _with(account("fca_tan", institution="Chase"), account_numbers=[_number("transactable", 12)]),
    _with(
        account("fca_stale", institution="Chase"),
        balance_refresh={"status": "failed", "last_attempted_at": ts(-1)},
    ),
    authorization(
        "fcauth_1", status="inactive", status_details={"inactive": {"action": "relink_required"}}
    ),
    authorization("fcauth_2"),
]

if __name__ == "__main__":
    lines = [json.dumps(o, ensure_ascii=False) for o in OBJECTS]
    out = Path(__file__).with_name("input.ndjson")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}; NOW is {ts(0)}")  # noqa: T201
