"""The finding: one classified account or authorization, and its one serialization point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "1.0"

ACCOUNT_OBJECT = "financial_connections.account"
AUTHORIZATION_OBJECT = "financial_connections.authorization"


class Category(StrEnum):
    """Classification categories, most urgent first. The strings are part of the JSON contract."""

    RELINK_REQUIRED = "relink_required"
    INACTIVE_UNREPAIRABLE = "inactive_unrepairable"
    INACTIVE_UNKNOWN = "inactive_unknown"
    EXPIRING = "expiring"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"
    ACTIVE = "active"


# Lower is more urgent: broken now, then about to break. Tables and findings[] sort by it.
SEVERITY: dict[Category, int] = {c: i for i, c in enumerate(Category)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One classified object. `to_record()` is the only place its JSON shape is defined."""

    id: str
    object: str
    category: Category
    status: str | None
    recommendation: str
    cause: str | None = None
    action: str | None = None
    expected_deactivation_date: datetime | None = None
    days_until_deactivation: int | None = None
    institution_name: str | None = None
    account_holder_type: str | None = None
    account_holder: str | None = None
    authorization: str | None = None
    last4: str | None = None
    display_name: str | None = None
    livemode: bool | None = None
    detail: str | None = None
    # For authorizations: the scanned accounts this authorization covers.
    accounts: tuple[str, ...] = field(default=())
    # The object as fetched, kept only for detail views; never serialized.
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def severity(self) -> int:
        return SEVERITY[self.category]

    def sort_key(self) -> tuple[int, float, str]:
        """Severity first, then soonest expected deactivation, then id: deterministic."""
        when = (
            self.expected_deactivation_date.timestamp()
            if self.expected_deactivation_date is not None
            else float("inf")
        )
        return (self.severity, when, self.id)

    def to_record(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict; the shape is schema/report.schema.json."""
        edd = self.expected_deactivation_date
        return {
            "id": self.id,
            "object": self.object,
            "category": str(self.category),
            "status": self.status,
            "cause": self.cause,
            "action": self.action,
            "expected_deactivation_date": (
                edd.isoformat().replace("+00:00", "Z") if edd is not None else None
            ),
            "days_until_deactivation": self.days_until_deactivation,
            "institution_name": self.institution_name,
            "account_holder": (
                {"type": self.account_holder_type, "id": self.account_holder}
                if self.account_holder_type or self.account_holder
                else None
            ),
            "authorization": self.authorization,
            "last4": self.last4,
            "display_name": self.display_name,
            "livemode": self.livemode,
            "accounts": list(self.accounts) if self.object == AUTHORIZATION_OBJECT else None,
            "detail": self.detail,
            "recommendation": self.recommendation,
        }
