"""--fail-on parsing and the exit-code decision. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fcaudit.errors import ExitCode, UsageError
from fcaudit.model import Category

DEFAULT_FAIL_ON = "relink_required,inactive_unrepairable,inactive_unknown,expiring"


def parse_fail_on(text: str) -> frozenset[Category]:
    """`relink_required,expiring` -> those categories; `any` -> every non-active; `none` -> {}."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        raise UsageError("--fail-on is empty. Tip: give categories, 'any' or 'none'.")
    if words == ["none"]:
        return frozenset()
    if words == ["any"]:
        return frozenset(c for c in Category if c is not Category.ACTIVE)
    valid = {str(c) for c in Category}
    bad = [w for w in words if w not in valid]
    if bad:
        raise UsageError(
            f"--fail-on: unknown category {bad[0]!r}. Tip: use a comma list of "
            f"{', '.join(sorted(valid))}, or 'any' or 'none'."
        )
    return frozenset(Category(w) for w in words)


def exit_code(
    counts: Mapping[Category, int],
    fail_on: Iterable[Category],
    *,
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
    if any(counts.get(c, 0) for c in fail_on):
        return ExitCode.FINDINGS
    return ExitCode.OK
