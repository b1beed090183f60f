"""Prometheus metrics in the node_exporter textfile-collector format (text exposition 0.0.4).

To stdout with `-f prometheus`, or beside any other output with `--metrics FILE` (written to a
temporary file in the same directory and renamed into place, so the collector never reads
half a file). Every metric is a gauge describing the last run, with HELP and TYPE lines and no
timestamps (the collector refuses them). `METRICS` is the list the README documents.

Every series carries `stripe_account` (the audited account: --stripe-account, else the key's
own account, `platform` when the key may not read it, `unknown` offline) and `mode` (live /
test, from the key or the findings; `unknown` when neither says), then the operator's
--metrics-label pairs: files of several accounts or jobs merge in one textfile directory
without two defining the same series.

Labels hold bounded values only: at most `LABEL_LIMIT` characters; category, object type,
signal code, and institution name capped to the 20 with most findings needing attention plus
the roll-up of the rest (`rolled_up="true"`, named `other`; a real institution called "other"
is a series of its own with `rolled_up="false"`). No account, customer or authorization id is
ever a label, but the audited account's. Institution names are untrusted: terminal-unsafe
characters become visible escapes (`fcaudit.text.safe`), then backslash, double quote and
newline are escaped as the exposition format requires.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TextIO

from fcaudit.model.findings import AGE_BUCKETS, Category, Finding, SignalCode
from fcaudit.model.report import ReportMeta, ScanResult
from fcaudit.render.base import RenderOptions, write_all
from fcaudit.stripe.facts import REASONS
from fcaudit.stripe.ids import AUTHORIZATION_OBJECT
from fcaudit.text import safe

PREFIX = "fcaudit_"
TOP_INSTITUTIONS = 20
OTHER = "other"
OBJECT_TYPES = ("account", "authorization")
# A label value's most characters (a 500-character bank name is not a useful label).
LABEL_LIMIT = 128
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# The labels fcaudit writes itself: --metrics-label may not name them.
OWN_LABELS = frozenset(
    {"stripe_account", "mode", "object", "category", "institution", "rolled_up", "signal"}
    | {"sent_for", "reason", "age"}
)

# name (without the prefix) -> HELP text, in output order.
METRICS: Mapping[str, str] = {
    "findings": "Findings of the last run, by object type and category (suppressed ones left out).",
    "suppressed_findings": "Findings of the last run set aside by --ignore entries.",
    "institution_findings": (
        "Findings needing attention (not active) of the last run, by institution: the 20 "
        'with most (rolled_up="false"), the rest summed as institution="other",rolled_up="true".'
    ),
    "signal_findings": (
        "Findings of the last run with each signal (a finding counts once per code)."
    ),
    "customers_affected": (
        "Account holders (customers or connected accounts) with a finding that is not active."
    ),
    "broken_accounts": (
        "Accounts of the last run that are broken (relink_required, inactive_unrepairable, "
        "inactive_unknown, account_number_unusable)."
    ),
    "broken_authorizations": (
        "Authorizations (credentials: one relink each) that broken accounts belong to, and "
        "broken authorizations."
    ),
    "oldest_finding_age_seconds": (
        "With --state: seconds the oldest finding of each category has been in it."
    ),
    "findings_by_age": (
        "With --state: findings (not active) at least age (1d, 7d, 30d, 90d) in their category."
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
    "account they were sent for (sent_for; platform: no Stripe-Account header).",
    "run_retries": "Requests the last run retried.",
    "run_rate_limited": "Responses of the last run that were rate limited (429), by Stripe's "
    "Stripe-Rate-Limited-Reason (none: a 429 without one, such as a lock timeout).",
    "run_errors": "Scopes of the last run that failed for good (the report's errors[]).",
}

# Written only with --state (a run that knows since when findings are in their category).
STATE_ONLY = frozenset({"oldest_finding_age_seconds", "findings_by_age"})


def label_value(value: str) -> str:
    """An untrusted string as a label value: shown safely, at most LABEL_LIMIT characters,
    escaped per the format."""
    text = safe(value, limit=LABEL_LIMIT)  # a newline is already shown as \x0a
    return text.replace("\\", "\\\\").replace('"', '\\"')


def number(value: float) -> str:
    """A sample value as the exposition format spells it (`+Inf`, whole numbers without `.0`)."""
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


def institutions(by_institution: Mapping[str, int]) -> list[tuple[str, bool, int]]:
    """The top institutions by count (ties by name), then the roll-up of the rest, as
    (label value, rolled up, count). A real institution named like the roll-up is ranked as
    any other: `rolled_up` tells them apart."""
    merged: Counter[str] = Counter()
    for name, n in by_institution.items():
        merged[label_value(name)] += n  # two names can look alike once made safe (or cut)
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    top = ranked[:TOP_INSTITUTIONS]
    rest = sum(merged.values()) - sum(n for _, n in top)
    return [*((name, False, n) for name, n in top), (OTHER, True, rest)]


class PrometheusRenderer:
    """`-f prometheus` and `--metrics`: gauges about the last run for node_exporter's
    textfile collector, to alert on."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._options = options
        self._deadlines: list[float] = []
        self._counts: Counter[tuple[str, Category]] = Counter()
        self._livemodes: set[bool | None] = set()

    def finding(self, finding: Finding) -> None:
        """Count the finding by object type and category and note its deadline; a suppressed
        one is left out."""
        self._livemodes.add(finding.livemode)  # offline, the findings tell the mode
        if finding.suppressed is not None:
            return  # handled by the operator: no alert should fire on it
        kind = "authorization" if finding.object == AUTHORIZATION_OBJECT else "account"
        self._counts[(kind, finding.category)] += 1
        when = finding.deadline
        if when is not None:
            self._deadlines.append(when.timestamp())

    def _common(self, meta: ReportMeta) -> str:
        """The labels every series starts with: the audited account, the mode, then the
        operator's own (module docstring)."""
        mode = meta.mode
        if mode is None and self._livemodes in ({True}, {False}):
            mode = "live" if True in self._livemodes else "test"
        pairs = [
            ("stripe_account", self._options.metrics_account or "unknown"),
            ("mode", mode or "unknown"),
            *self._options.metrics_labels,
        ]
        return ",".join(f'{name}="{label_value(value)}"' for name, value in pairs)

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
                    (f'{{institution="{name}",rolled_up="{str(rolled).lower()}"}}', n)
                    for name, rolled, n in institutions(result.by_institution)
                ),
            ),
            (
                "signal_findings",
                ((f'{{signal="{c}"}}', result.by_signal.get(c, 0)) for c in SignalCode),
            ),
            ("suppressed_findings", [("", result.suppressed)]),
            ("broken_accounts", [("", result.broken_accounts)]),
            ("broken_authorizations", [("", len(result.broken_authorizations))]),
            (
                "oldest_finding_age_seconds",
                (
                    (f'{{category="{c}"}}', int(as_of - result.oldest_since[c].timestamp()))
                    for c in Category
                    if c in result.oldest_since
                ),
            ),
            (
                "findings_by_age",
                (
                    (f'{{category="{c}",age="{b}d"}}', result.by_age.get((c, b), 0))
                    for c in Category
                    if c is not Category.ACTIVE and result.history is not None
                    for b in AGE_BUCKETS
                ),
            ),
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
                    (f'{{sent_for="{label_value(str(account))}"}}', int(n))
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
        common = self._common(meta)
        lines: list[str] = []
        for name, samples in families:
            rows = [
                f"{PREFIX}{name}{{{common}{',' + labels[1:-1] if labels else ''}}} {number(v)}"
                for labels, v in samples
            ]
            if not rows:
                continue
            help_text = METRICS[name].replace("\\", "\\\\").replace("\n", "\\n")
            lines += [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} gauge", *rows]
        write_all(self._stream, "\n".join(lines) + "\n")
        self._stream.flush()
