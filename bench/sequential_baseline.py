#!/usr/bin/env python3
"""What a user writes today: a sequential stripe-python scan with auto_paging_iter.

Usage: sequential_baseline.py BASE_URL KEY. Prints {"accounts": n, "by_status": {...}}.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import stripe


def main() -> int:
    base, key = sys.argv[1], sys.argv[2]
    client = stripe.StripeClient(
        key, base_addresses={"api": base}, stripe_version="2026-09-30.preview"
    )
    statuses: Counter[str] = Counter()
    customers = client.v1.customers.list({"limit": 100})
    for customer in customers.auto_paging_iter():
        accounts = client.v1.financial_connections.accounts.list(
            {"account_holder": {"customer": customer.id}, "limit": 100}
        )
        for account in accounts.auto_paging_iter():
            statuses[account.status] += 1
    print(json.dumps({"accounts": sum(statuses.values()), "by_status": dict(statuses)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
