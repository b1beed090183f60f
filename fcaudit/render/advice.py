"""A finding's advice and note as the reports for people show them: fcaudit's own words whole,
the untrusted names inside them shortened.

The advice ("what to do") is one sentence that quotes names from the API: the institution,
the display name, ids, an unknown status or action. Cutting the whole sentence to a display
limit cuts fcaudit's instruction behind a long name ("...ask the customer to link a
different account." is lost after a 500-character institution name). So each name the
finding carries that is longer than `NAME_LIMIT` is shortened where the sentence quotes it
(as is, or as Python's `repr`, as the advice quotes an unknown status), and the sentence
itself is never cut: it is shown through `safe()` without a limit. JSON, NDJSON and CSV are
data formats and keep the whole sentence.

What no field accounts for (a future advice quoting something else) is still bounded: past
`ADVICE_LIMIT` characters the middle goes, so the end, where the instruction is, stays.
"""

from __future__ import annotations

from fcaudit.model.findings import Finding
from fcaudit.text import ELLIPSIS

# One name inside advice: enough to recognise a bank or an id (Stripe's ids are shorter).
NAME_LIMIT = 100
# The whole advice, as a last resort; the instruction at its end is kept.
ADVICE_LIMIT = 2000
TAIL = 600


def _names(f: Finding) -> set[str]:
    """The finding's untrusted values long enough to need shortening."""
    values = (
        f.institution_name,
        f.display_name,
        f.last4,
        f.id,
        f.authorization,
        f.account_holder,
        f.status,
        f.cause,
        f.action,
    )
    return {v for v in values if v and len(v) > NAME_LIMIT}


def shorten_names(text: str, f: Finding) -> str:
    """`text` (advice or a note about `f`) with `f`'s long names shortened, and bounded by
    `ADVICE_LIMIT` keeping its end. Still untrusted text: show it through `safe()` (or a
    format's escaping) without a limit."""
    for name in sorted(_names(f), key=len, reverse=True):  # a longer name first: it may hold one
        quoted = repr(name)
        if quoted in text:
            text = text.replace(quoted, quoted[:NAME_LIMIT] + ELLIPSIS + quoted[-1])
        text = text.replace(name, name[: NAME_LIMIT - 1] + ELLIPSIS)
    if len(text) > ADVICE_LIMIT:
        text = text[: ADVICE_LIMIT - TAIL - 1] + ELLIPSIS + text[-TAIL:]
    return text


def advice(f: Finding) -> str:
    """What to do, as a report for people shows it (module docstring)."""
    return shorten_names(f.recommendation, f)


def note(f: Finding) -> str | None:
    """The finding's note (`detail`), shown as its advice is; None when it has none."""
    return shorten_names(f.detail, f) if f.detail else None
