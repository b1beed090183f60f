"""Stages: between classification and the sinks, each sees every finding and the end of the
run, and may hold, drop or add findings (runner.Stage). The runner always ends with Tally."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from fcaudit.classify import relink_advice_for
from fcaudit.model import ACCOUNT_OBJECT, Category, Finding, ScanResult


class Tally:
    """The summary counters: by category, object type, institution and signal."""

    def __init__(self, result: ScanResult) -> None:
        self._result = result

    def finding(self, finding: Finding) -> Iterable[Finding]:
        self._result.count(finding)
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        return ()


def _event_order(f: Finding) -> tuple[float, str]:
    when = f.event_created.timestamp() if f.event_created is not None else float("-inf")
    return (when, f.event_id or "")


class LatestSnapshot:
    """Event streams: report each object once, as its latest event shows it (by `created`,
    ties by event id). Objects that did not come from an event pass straight through."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], Finding] = {}

    def finding(self, finding: Finding) -> Iterable[Finding]:
        if finding.event_type is None and finding.event_created is None:
            return (finding,)
        key = (finding.object, finding.id)
        held = self._latest.get(key)
        if held is None or _event_order(finding) >= _event_order(held):
            self._latest[key] = finding
        return ()

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        return sorted(self._latest.values(), key=_event_order)


class RelinkCount:
    """relink_required accounts name the authorization to relink and how many of the scanned
    accounts that one relink repairs, which is known only once every account has been seen:
    they are held until the end of the run (NDJSON writes them last)."""

    def __init__(self) -> None:
        self._held: list[Finding] = []
        self._per_authorization: Counter[str] = Counter()

    def finding(self, finding: Finding) -> Iterable[Finding]:
        if (
            finding.category is Category.RELINK_REQUIRED
            and finding.object == ACCOUNT_OBJECT
            and finding.authorization
        ):
            self._per_authorization[finding.authorization] += 1
            self._held.append(finding)
            return ()
        return (finding,)

    def finish(self, result: ScanResult) -> Iterable[Finding]:
        for f in self._held:
            repairs = self._per_authorization[f.authorization or ""]
            yield dataclasses.replace(f, recommendation=relink_advice_for(f, repairs))
