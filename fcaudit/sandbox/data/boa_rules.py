"""Bank of America without a Stripe date: the inactive-accounts guide's rules
(:func:`boa_rule_truth`) and the links around their boundaries (:data:`BOA_LINKS`).

The rules apply only to an ``active`` account at an institution whose normalised name is one of
:data:`BOA_RULE_NAMES` and for which Stripe gives no ``expected_deactivation_date``; the link
date is the account's ``created``. This is the sandbox's own reading of the guide, written for
the truth; it shares nothing with fcaudit's classifier.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from fcaudit.sandbox.data.constants import (
    ACTIVE,
    DAY,
    EXPIRING,
    RULE_BOA_1Y,
    RULE_BOA_MIGRATION,
    SIG_PREDICTED,
    SIG_PREDICTED_PASSED,
    UNKNOWN,
)
from fcaudit.sandbox.data.designs import NONE, active_date
from fcaudit.sandbox.data.names import BANK_OF_AMERICA, BOA_NEAR_MISS
from fcaudit.stripe.facts import DEFAULT_HORIZON_DAYS as HORIZON_DAYS

BOA_RULE_NAMES: Final = frozenset({"bankofamerica", "bankofamericana", "bofa"})
BOA_AUTH_YEAR_DAYS: Final = 365  # boa-auth-1y: authentication expires a year after linking
BOA_MIGRATION_BEFORE: Final = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp())
BOA_MIGRATION_DATE: Final = int(datetime(2026, 8, 1, tzinfo=UTC).timestamp())
BOA_ROLLING_BEFORE: Final = int(datetime(2026, 4, 18, tzinfo=UTC).timestamp())


def normalise_institution(name: str) -> str:
    """An institution name as the Bank of America rules compare it (so Stripe's other
    spellings match): casefold, "&" -> "and", every non-alphanumeric character removed."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("&", "and")
    return "".join(c for c in folded if c.isalnum())


def boa_rule_truth(
    created: int, now: datetime, horizon_days: int = HORIZON_DAYS
) -> tuple[str, tuple[str, ...], str | None]:
    """(category, signal codes, expected_deactivation_source) the rules give an active Bank of
    America account linked at ``created`` (unix seconds), seen at ``now``."""
    today = now.astimezone(UTC).date()
    predictions: list[tuple[str, int | None]] = [(RULE_BOA_1Y, created + BOA_AUTH_YEAR_DAYS * DAY)]
    if created < BOA_MIGRATION_BEFORE:
        predictions.append((RULE_BOA_MIGRATION, BOA_MIGRATION_DATE))
    elif created < BOA_ROLLING_BEFORE:
        predictions.append((RULE_BOA_MIGRATION, None))  # "on a rolling basis": no date
    signals: list[str] = []
    upcoming: list[tuple[date, str]] = []
    for rule, when in predictions:
        if when is None:
            signals.append(SIG_PREDICTED)
            continue
        day = datetime.fromtimestamp(when, UTC).date()
        if day < today:
            signals.append(SIG_PREDICTED_PASSED)
        else:
            signals.append(SIG_PREDICTED)
            upcoming.append((day, rule))
    if not upcoming:
        return ACTIVE, tuple(sorted(set(signals))), None
    day, rule = min(upcoming)
    category = EXPIRING if (day - today).days <= horizon_days else ACTIVE
    return category, tuple(sorted(set(signals))), rule


@dataclass(frozen=True, slots=True)
class BoaLink:
    """One active Bank of America account without a Stripe date, linked at a chosen moment.

    ``at`` is an absolute link time (ISO 8601, UTC): the rule boundaries. ``year_in`` instead
    links it at noon UTC so that ``created`` + 365 days falls that many calendar days after
    ``now``'s date. An ``at`` after ``now`` (or before the holder existed) is left out. The truth
    is :func:`boa_rule_truth` unless ``category`` is given (a row the rules must not touch).
    """

    name: str
    at: str | None = None
    year_in: int | None = None
    institution: str = BANK_OF_AMERICA
    details: dict[str, Any] | str | None = None  # None: {}; "absent": no key
    category: str | None = None


BOA_LINKS: Final[tuple[BoaLink, ...]] = (
    # boa-api-migration: before 2025-07-01 -> 2026-08-01; through 2026-04-17 -> rolling; after.
    BoaLink("boa_linked_2025-06-30", at="2025-06-30T12:00:00Z"),
    BoaLink("boa_linked_2025-06-30_last_second", at="2025-06-30T23:59:59Z"),
    BoaLink("boa_linked_2025-07-01_first_second", at="2025-07-01T00:00:00Z"),
    BoaLink("boa_linked_2025-07-01", at="2025-07-01T12:00:00Z"),
    BoaLink("boa_linked_2025-07-02", at="2025-07-02T12:00:00Z"),
    BoaLink("boa_linked_2026-04-16", at="2026-04-16T12:00:00Z"),
    BoaLink("boa_linked_2026-04-17", at="2026-04-17T12:00:00Z"),
    BoaLink("boa_linked_2026-04-17_last_second", at="2026-04-17T23:59:59Z"),
    BoaLink("boa_linked_2026-04-18_first_second", at="2026-04-18T00:00:00Z"),
    BoaLink("boa_linked_2026-04-18", at="2026-04-18T12:00:00Z"),
    # boa-auth-1y around the horizon (30 calendar days).
    BoaLink("boa_year_passed_yesterday", year_in=-1),
    BoaLink("boa_year_ends_today", year_in=0),
    BoaLink("boa_year_ends_in_30_days", year_in=30),
    BoaLink("boa_year_ends_in_31_days", year_in=31),
    # Other spellings, and status_details shapes without a date.
    BoaLink("boa_na_no_details", year_in=10, institution="Bank of America, N.A.", details="absent"),
    BoaLink(
        "boa_upper_null_active", year_in=20, institution="BANK OF AMERICA", details={"active": None}
    ),
    BoaLink(
        "boa_bofa_null_date",
        year_in=100,
        institution="BofA",
        details={
            "active": {
                "action": NONE,
                "cause": "access_expired",
                "expected_deactivation_date": None,
            }
        },
    ),
    # Not Bank of America, however alike: no rule.
    BoaLink("boa_near_miss", year_in=10, institution=BOA_NEAR_MISS, category=ACTIVE),
    # Stripe gave a date fcaudit can't read: unknown, and the rules must not fill it in.
    BoaLink("boa_unreadable_date", year_in=10, details=active_date("1796083200"), category=UNKNOWN),
)
BOA_LINK_BY_NAME: Final = {b.name: b for b in BOA_LINKS}
