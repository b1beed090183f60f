"""Prometheus metrics in the node_exporter textfile-collector format (text exposition 0.0.4).

To stdout with `-f prometheus`, or beside any other output with `--metrics FILE` (written to a
temporary file in the same directory and renamed into place, so the collector never reads
half a file). Every metric is a gauge describing the last run, with HELP and TYPE lines and no
timestamps (the collector refuses them). `METRICS` is the list the README documents.

Labels hold bounded values only: category, object type, signal code, and institution name
capped to the 20 with most findings needing attention plus `other` (the rest, and an
institution that is itself called "other"). No account, customer or authorization id is ever a
label. Institution names are untrusted: terminal-unsafe characters become visible escapes
(`fcaudit.text.safe`), then backslash, double quote and newline are escaped as the exposition
format requires.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TextIO

from fcaudit.model.findings import Category, Finding, SignalCode
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions, write_all
from fcaudit.stripe.facts import REASONS
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT
from fcaudit.text import safe

PREFIX = "fcaudit_"
TOP_INSTITUTIONS = 20
OTHER = "other"
OBJECT_TYPES = ("account", "authorization")

# name (without the prefix) -> HELP text, in output order.
METRICS: Mapping[str, str] = {
    "findings": "Findings of the last run, by object type and category (suppressed ones left out).",
    "suppressed_findings": "Findings of the last run set aside by --ignore entries.",
    "institution_findings": (
        "Findings needing attention (not active) of the last run, by institution: the 20 "
        'with most, the rest summed as institution="other".'
    ),
    "signal_findings": (
        "Findings of the last run with each signal (a finding counts once per code)."
    ),
    "customers_affected": (
        "Account holders (customers or connected accounts) with a finding that is not active."
    ),
    "next_deactivation_timestamp_seconds": (
        "Unix time of the earliest upcoming deactivation or account-number expiry after the "
        "run's as-of time; +Inf when none is known."
    ),
    "last_run_timestamp_seconds": "Unix time the last run finished.",
    "run_complete": "1 when the last run covered every scope, 0 when scopes failed or it was "
    "interrupted.",
    "run_duration_seconds": "How long the last run took (scans only).",
    "run_requests": "Stripe API requests the last run made, retries included, by the Stripe "
    "account they were sent for (platform: no Stripe-Account header).",
    "run_retries": "Requests the last run retried.",
    "run_rate_limited": "Responses of the last run that were rate limited (429), by Stripe's "
    "Stripe-Rate-Limited-Reason (none: a 429 without one, such as a lock timeout).",
    "run_errors": "Scopes of the last run that failed for good (the report's errors[]).",
}


def label_value(value: str) -> str:
    """An untrusted string as a label value: shown safely, escaped per the format."""
    text = safe(value)  # a newline is already shown as \x0a
    return text.replace("\\", "\\\\").replace('"', '\\"')


def number(value: float) -> str:
    """A sample value as the exposition format spells it (`+Inf`, whole numbers without `.0`)."""
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


def institutions(by_institution: Mapping[str, int]) -> list[tuple[str, int]]:
    """The top institutions by count (ties by name) and `other` for the rest, as labels."""
    merged: Counter[str] = Counter()
    for name, n in by_institution.items():
        merged[label_value(name)] += n  # two names can look alike once made safe
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    top = [(name, n) for name, n in ranked if name != OTHER][:TOP_INSTITUTIONS]
    rest = sum(merged.values()) - sum(n for _, n in top)
    return [*top, (OTHER, rest)]


class PrometheusRenderer:
    """`-f prometheus` and `--metrics`: gauges about the last run for node_exporter's
    textfile collector, to alert on."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._deadlines: list[float] = []
        self._counts: Counter[tuple[str, Category]] = Counter()

    def finding(self, finding: Finding) -> None:
        """Count the finding by object type and category and note its deadline; a suppressed
        one is left out."""
        if finding.suppressed is not None:
            return  # handled by the operator: no alert should fire on it
        kind = "authorization" if finding.object == AUTHORIZATION_OBJECT else "account"
        self._counts[(kind, finding.category)] += 1
        when = finding.deadline
        if when is not None:
            self._deadlines.append(when.timestamp())

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Write every metric family that has samples, each with its HELP and TYPE lines."""
        stats = meta.stats
        as_of = meta.as_of.timestamp()
        upcoming = min((t for t in self._deadlines if t > as_of), default=math.inf)
        families: list[tuple[str, Iterable[tuple[str, float]]]] = [
            (
                "findings",
                (
                    (
                        f'{{object="{kind}",category="{c}"}}',
                        self._counts.get((kind, c), 0),
                    )
                    for kind in OBJECT_TYPES
                    for c in Category
                ),
            ),
            (
                "institution_findings",
                (
                    (f'{{institution="{name}"}}', n)
                    for name, n in institutions(result.by_institution)
                ),
            ),
            (
                "signal_findings",
                ((f'{{signal="{c}"}}', result.by_signal.get(c, 0)) for c in SignalCode),
            ),
            ("suppressed_findings", [("", result.suppressed)]),
            ("customers_affected", [("", len(result.holders_affected))]),
            ("next_deactivation_timestamp_seconds", [("", upcoming)]),
            ("last_run_timestamp_seconds", [("", int(meta.generated_at.timestamp()))]),
            ("run_complete", [("", int(result.complete))]),
            (
                "run_duration_seconds",
                [("", float(stats["duration_seconds"]))] if "duration_seconds" in stats else [],
            ),
            (
                "run_requests",
                (
                    (f'{{stripe_account="{label_value(str(account))}"}}', int(n))
                    # Offline (no requests): one zero sample, so the family is always there.
                    for account, n in dict(
                        stats.get("by_stripe_account") or {"platform": 0}
                    ).items()
                ),
            ),
            ("run_retries", [("", int(stats.get("retries", 0)))]),
            (
                "run_rate_limited",
                (
                    (f'{{reason="{label_value(str(reason))}"}}', int(n))
                    for reason, n in dict(
                        stats.get("rate_limited_by_reason") or dict.fromkeys(REASONS, 0)
                    ).items()
                ),
            ),
            ("run_errors", [("", len(result.errors))]),
        ]
        lines: list[str] = []
        for name, samples in families:
            rows = [f"{PREFIX}{name}{labels} {number(v)}" for labels, v in samples]
            if not rows:
                continue
            help_text = METRICS[name].replace("\\", "\\\\").replace("\n", "\\n")
            lines += [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} gauge", *rows]
        write_all(self._stream, "\n".join(lines) + "\n")
        self._stream.flush()
