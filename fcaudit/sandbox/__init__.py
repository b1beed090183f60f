"""A local Stripe-compatible server with a deterministic FC data set (tests, demos, benchmarks).

Public API::

    from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox

    with running_sandbox(seed=42, customers=300) as sandbox:
        client = stripe.StripeClient(SANDBOX_API_KEY, base_addresses={"api": sandbox.base_url})
        ...
        sandbox.dataset.expected_category  # ground truth: account id -> category
        sandbox.stats.snapshot()           # request counters
"""

from __future__ import annotations

from fcaudit.sandbox.data import Dataset, build_dataset
from fcaudit.sandbox.server import (
    SANDBOX_API_KEY,
    RunningSandbox,
    SandboxStats,
    running_sandbox,
    start_sandbox,
)

__all__ = [
    "SANDBOX_API_KEY",
    "Dataset",
    "RunningSandbox",
    "SandboxStats",
    "build_dataset",
    "running_sandbox",
    "start_sandbox",
]
