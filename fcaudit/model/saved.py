"""Reports read back from disk: a baseline or a diff's input, and how it compares with this run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from fcaudit.errors import InputError
from fcaudit.model.findings import READABLE_SCHEMA_MAJOR, Category, Finding, from_record

if TYPE_CHECKING:
    from fcaudit.spill import DiskMap


class Prior(NamedTuple):
    """What a baseline comparison needs of an object: small, for stores of 100,000."""

    object: str
    category: Category
    deadline: datetime | None
    # Since when it was in that category, when known exactly (not a first sight's lower
    # bound): what a repair's time_to_repair counts from.
    since: datetime | None = None


def exact_since(finding: Finding) -> datetime | None:
    """A finding's `since` when it dates a change (not a first sight's lower bound)."""
    return finding.since if finding.since_source in ("event", "run") else None


@dataclass(frozen=True)
class SavedReport:
    """A report read back from disk: its envelope (as written) and its findings; or, for the
    previous run of a state store, only what a comparison needs of each object (`priors`)."""

    envelope: Mapping[str, Any]
    findings: tuple[Finding, ...]
    priors: DiskMap[Prior] | None = None

    def prior_findings(self) -> DiskMap[Prior]:
        """By id, on disk (a store's previous run may hold a million objects): each object's
        type, category and deadline."""
        if self.priors is not None:
            return self.priors
        from fcaudit.spill import DiskMap  # SQLite: only when a run compares

        priors: DiskMap[Prior] = DiskMap()
        priors.update(
            (f.id, Prior(f.object, f.category, f.deadline, exact_since(f))) for f in self.findings
        )
        return priors

    @property
    def complete(self) -> bool:
        """Whether the saved report says its run was complete."""
        return bool(self.envelope.get("complete"))


@dataclass(frozen=True)
class BaselineInfo:
    """The report a run is compared with, and whether the comparison is like for like."""

    source: str
    report: SavedReport
    comparable: bool  # same scope, Stripe account and mode: missing objects are gone
    warnings: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The report's `baseline` object: what was compared and whether like for like."""
        env = self.report.envelope
        return {
            "source": self.source,
            "generated_at": env.get("generated_at"),
            "scope": env.get("scope"),
            "mode": env.get("mode"),
            "complete": self.report.complete,
            "comparable": self.comparable,
            "warnings": list(self.warnings),
        }


def baseline_info(
    report: SavedReport, source: str, *, scope: Mapping[str, Any], mode: str | None
) -> BaselineInfo:
    """Compare a baseline's envelope with this run's scope and mode; say what differs."""
    env = report.envelope
    warnings = []
    old_scope = env.get("scope") or {}
    # `discovery` says how a run found its accounts (with request ids), learned during the
    # run: BaselineDiff compares the modes once this run's is known.
    old_scope = {k: v for k, v in old_scope.items() if k != "discovery"}
    scope = {k: v for k, v in scope.items() if k != "discovery"}
    if old_scope.get("stripe_account") != scope.get("stripe_account"):
        warnings.append(
            f"the baseline is from Stripe account {old_scope.get('stripe_account') or '(own)'}, "
            f"this run reads {scope.get('stripe_account') or '(own)'}"
        )
    elif dict(old_scope) != dict(scope):
        warnings.append(f"the baseline covers another scope ({old_scope.get('type')})")
    if mode is not None and env.get("mode") not in (None, mode):
        warnings.append(f"the baseline is from {env.get('mode')} mode, this run is {mode} mode")
    if not report.complete:
        warnings.append("the baseline report was incomplete")
    return BaselineInfo(source, report, comparable=not warnings, warnings=tuple(warnings))


def discovery_mode(scope: Mapping[str, Any]) -> str | None:
    """The discovery mode a report's scope records (`accounts`, `customers`, `mixed`), if any:
    the unfiltered list covers every holder type, the fan-out customers' accounts only."""
    discovery = scope.get("discovery")
    mode = discovery.get("mode") if isinstance(discovery, Mapping) else None
    return mode if isinstance(mode, str) else None


def load_report(text: str, name: str) -> SavedReport:
    """Parse an fcaudit JSON report; `InputError` (exit 2) names what is wrong with it."""
    tip = "Tip: give a report written by 'fcaudit ... --format json'."
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as err:
        raise InputError(f"{name} is not JSON ({err}). {tip}") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("tool"), dict)):
        raise InputError(f"{name} is not an fcaudit report. {tip}")
    if doc["tool"].get("name") != "fcaudit":
        raise InputError(f"{name} is not an fcaudit report. {tip}")
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != READABLE_SCHEMA_MAJOR:
        raise InputError(
            f"{name} has schema_version {version!r}; this fcaudit reads {READABLE_SCHEMA_MAJOR}.x."
            " Tip: write the report again with this version of fcaudit."
        )
    records = doc.get("findings")
    if not isinstance(records, list):
        raise InputError(f"{name} has no findings[] (was it written as NDJSON?). {tip}")
    findings = []
    for i, record in enumerate(records):
        try:
            findings.append(from_record(record))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{name}: findings[{i}] is not a finding. {tip}") from None
    return SavedReport(envelope=doc, findings=tuple(findings))
