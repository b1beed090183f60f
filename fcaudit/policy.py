"""--fail-on parsing and the exit-code decision. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fcaudit.errors import ExitCode, UsageError
from fcaudit.model import Category, SignalCode

DEFAULT_FAIL_ON = (
    "relink_required,inactive_unrepairable,inactive_unknown,account_number_unusable,expiring"
)

FailOn = Category | SignalCode


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
        else:
            names = ", ".join(sorted({*map(str, Category), *map(str, SignalCode)}))
            raise UsageError(
                f"--fail-on: unknown category or signal {word!r}. Tip: use a comma list of "
                f"{names}, or 'any' or 'none'."
            )
    return frozenset(chosen)


def exit_code(
    counts: Mapping[Category, int],
    fail_on: Iterable[FailOn],
    *,
    by_signal: Mapping[SignalCode, int] | None = None,
    incomplete: bool = False,
    interrupted: bool = False,
) -> ExitCode:
    """The exit code of a run that produced a report.

    Precedence (highest first): 130 interrupted, 5 incomplete, 1 findings matched, 0 clean.
    Errors that stop a run (2, 3, 4) never reach here: they are raised.
    """
    if interrupted:
        return ExitCode.INTERRUPTED
    if incomplete:
        return ExitCode.INCOMPLETE
    signals = by_signal or {}
    for item in fail_on:
        hits = counts.get(item, 0) if isinstance(item, Category) else signals.get(item, 0)
        if hits:
            return ExitCode.FINDINGS
    return ExitCode.OK
