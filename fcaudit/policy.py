"""--fail-on / --fail-on-change parsing and the exit-code decision. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.findings import Category, Change, EventFlag, Finding, SignalCode

DEFAULT_FAIL_ON = (
    "relink_required,inactive_unrepairable,inactive_unknown,account_number_unusable,expiring"
)

FailOn = Category | SignalCode | EventFlag


def parse_fail_on(text: str) -> frozenset[FailOn]:
    """`relink_required,expiring` -> those categories; signal codes are accepted too (a run
    fails when any finding carries one); `any` -> every non-active category; `none` -> {}."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        raise UsageError("--fail-on is empty. Tip: give categories, 'any' or 'none'.")
    if words == ["none"]:
        return frozenset()
    if words == ["any"]:
        return frozenset(c for c in Category if c is not Category.ACTIVE)
    chosen: set[FailOn] = set()
    for word in words:
        # account_number_unusable is both a category and a signal: the category is meant.
        if word in Category.__members__.values():
            chosen.add(Category(word))
        elif word in SignalCode.__members__.values():
            chosen.add(SignalCode(word))
        elif word in EventFlag.__members__.values():
            chosen.add(EventFlag(word))  # fcaudit events: `undelivered`
        else:
            names = ", ".join(sorted({*map(str, Category), *map(str, SignalCode), *EventFlag}))
            raise UsageError(
                f"--fail-on: unknown category or signal {word!r}. Tip: use a comma list of "
                f"{names}, or 'any' or 'none'."
            )
    return frozenset(chosen)


def parse_fail_on_change(text: str | None) -> frozenset[Change] | None:
    """`new,worse` -> those changes (the alert-once cron recipe); None when not given."""
    if text is None:
        return None
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    valid = [str(c) for c in Change]
    bad = [w for w in words if w not in valid]
    if not words or bad:
        raise UsageError(
            f"--fail-on-change: {'unknown change ' + repr(bad[0]) if bad else 'empty'}. "
            f"Tip: a comma list of {', '.join(valid)} (e.g. new,worse)."
        )
    return frozenset(Change(w) for w in words)


@dataclass(frozen=True)
class Policy:
    """Which findings make a run exit 1."""

    fail_on: frozenset[FailOn]
    fail_on_change: frozenset[Change] | None = None  # None: any change, or no baseline

    def matches(self, finding: Finding) -> bool:
        """True when the finding counts towards the exit code (--fail-on, --fail-on-change, not
        suppressed)."""
        if finding.suppressed is not None or finding.pending:
            return False
        if self.fail_on_change is not None and finding.change not in self.fail_on_change:
            return False
        if finding.category in self.fail_on:
            return True
        if finding.undelivered and EventFlag.UNDELIVERED in self.fail_on:
            return True
        return bool(finding.signals) and any(s.code in self.fail_on for s in finding.signals)


def exit_code(matched: int, *, incomplete: bool = False, interrupted: bool = False) -> ExitCode:
    """The exit code of a run that produced a report, given how many findings matched.

    Precedence (highest first): 130 interrupted, 5 incomplete, 1 findings matched, 0 clean.
    Errors that stop a run (2, 3, 4) never reach here: they are raised.
    """
    if interrupted:
        return ExitCode.INTERRUPTED
    if incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.FINDINGS if matched else ExitCode.OK
