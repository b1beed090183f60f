"""A local Stripe-compatible server with a deterministic FC data set (tests, demos, benchmarks).

Public API::

    from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox

    with running_sandbox(seed=42, customers=300) as sandbox:
        client = stripe.StripeClient(SANDBOX_API_KEY, base_addresses={"api": sandbox.base_url})
        ...
        sandbox.dataset.expected_category  # ground truth: account id -> category
        sandbox.dataset.expected_signals   # and signal codes, expected_deactivation_source,
        sandbox.dataset.truth()            # the event history's truth: /__sandbox/truth
        sandbox.stats.snapshot()           # request counters

Keywords of ``start_sandbox``/``running_sandbox`` beyond the data set's ``seed``, ``customers``
and ``now``: ``scenario="adversarial"`` for hostile names (markup, escapes, CSV formulas; the
default ``"demo"`` has believable ones), random faults (``latency_ms``, ``jitter_ms``,
``rate_limit``, ``endpoint_rate_limit``, ``error_rate``, ``drop_rate``) and scripted ones::

    running_sandbox(customers=8, cues=["503:2", "stall:1@/v1/financial_connections/accounts"])

A cue ``KIND:COUNT[@PATH]`` (kinds ``ok``, ``stall``, ``drop``, ``429``, ``500``, ``503``) faults
the next COUNT matching ``/v1`` requests; see :mod:`fcaudit.sandbox.faults`.
"""

from __future__ import annotations

from fcaudit.sandbox.data import Dataset, build_dataset
from fcaudit.sandbox.faults import Cue
from fcaudit.sandbox.server import (
    SANDBOX_API_KEY,
    RunningSandbox,
    SandboxStats,
    running_sandbox,
    start_sandbox,
)

__all__ = [
    "SANDBOX_API_KEY",
    "Cue",
    "Dataset",
    "RunningSandbox",
    "SandboxStats",
    "build_dataset",
    "running_sandbox",
    "start_sandbox",
]
