"""What a source is: the record of an observed object, and the contract every source keeps.

A source (a scan, a retrieval, an event listing, a file) finds objects and hands each one to
`emit` as an `Observed`; the runner classifies it. When the source is done, `run` returns a
`SourceOutcome`: the scopes that failed, whether it was interrupted, and what it learned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fcaudit.classify import NotClassifiable
from fcaudit.model.findings import EventRef, Finding
from fcaudit.model.report import Contact, Scope, ScopeError


# Not frozen, with slots: one is built per object read, and a frozen dataclass sets each
# field through object.__setattr__ (a quarter of a microsecond against a microsecond).
@dataclass(slots=True)
class Observed:
    """An object a source found, before classification."""

    obj: Mapping[str, Any]
    where: str  # for messages: "stdin line 3", "customer cus_1"
    stripe_version: str | None = None  # the version it was rendered in, when known
    accounts: tuple[str, ...] = ()  # for an authorization: the scanned accounts it covers
    request_id: str | None = None  # the Request-Id of the response that carried it
    event: EventRef | None = None  # the Event it was a snapshot in (classify of events)
    note: str | None = None  # something the source noticed (a conflicting duplicate)
    finding: Finding | None = None  # already classified: passed on as it is
    stripe_account: str | None = None  # the connected account it was read under
    # An Event's data.object that is not an FC account or authorization (offline input):
    # the source skips and counts it instead of emitting it.
    foreign: bool = False


Emit = Callable[[Observed], None]


@dataclass
class SourceOutcome:
    """What a source reports when it is done: failed scopes, an interruption, what it learned."""

    errors: list[ScopeError] = field(default_factory=list)
    interrupted: bool = False
    events_skipped: int = 0  # events whose object is not an FC account or authorization
    contacts: dict[str, Contact] = field(default_factory=dict)  # --contact: by customer id
    # What the run learned about its scope (`discovery`: the mode used, and why), merged
    # into the report's `scope`.
    scope: dict[str, Any] = field(default_factory=dict)
    stripe_accounts: list[str] | None = None  # --connected-accounts: the ones read


def budget_error(
    limit: int | None, unread: Sequence[Scope], fallback: Scope, rest: str | None
) -> ScopeError:
    """The errors[] entry of a run that spent its --max-requests, code `request_budget`: the
    limit, the scopes it did not read (the first few, and how many more), and `rest`, what
    it had not reached at all (None: nothing)."""
    names = [s.label() for s in unread]
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    parts = [p for p in (shown, rest) if p]
    return ScopeError(
        unread[0] if unread else fallback,
        f"the request budget of {limit} requests (--max-requests) was spent; not read: "
        f"{'; and '.join(parts) or 'nothing'}. Tip: a larger --max-requests, or a narrower "
        "scope.",
        code="request_budget",
    )


class Source(Protocol):
    """Finds objects and emits them. `run` may call `emit` from several threads."""

    stripe_version: str | None  # the API version of the run (None offline)
    mode: str | None  # live | test | None

    def run(self, emit: Emit) -> SourceOutcome:
        """Find the objects and hand each to `emit`; return how it went."""

    def rejected(self, item: Observed, error: NotClassifiable) -> ScopeError:
        """An object that is not an FC account or authorization: an errors[] entry, or raise
        to stop the run (a file the user gave)."""
        ...

    def stats(self) -> Mapping[str, Any]:
        """The source's counters for the report's `stats` (requests, retries, duration)."""
