"""The compact records a data set keeps (customers, connected accounts, FC accounts and
authorizations), and the read-only mappings that render them to JSON only when looked up."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AccountSpec:
    """Everything needed to render one FC account; rendered to JSON on demand."""

    id: str
    created: int
    holder_type: str
    holder_id: str
    authorization: str
    institution: int
    session: str | None
    display_name: str
    last4: str
    kind: int
    status: str
    details: dict[str, Any] | None  # None: the status_details key is absent
    design: str
    numbers: tuple[dict[str, Any], ...] = ()  # account_numbers[], rendered
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # "balance_refresh": {...}


@dataclass(slots=True)
class AuthorizationSpec:
    """Everything needed to render one FC authorization."""

    id: str
    holder_type: str
    holder_id: str
    institution: int
    status: str
    details: dict[str, Any] | None
    design: str
    account_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    """Everything needed to render one v1 customer."""

    id: str
    created: int
    name: str
    email: str


def clone(value: Any) -> Any:
    """Copy JSON-like data so callers can't mutate shared records."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ConnectedSpec:
    """A connected account of the platform, as ``GET /v1/accounts`` lists it."""

    id: str
    created: int
    name: str


class Rendered(Mapping[str, dict[str, Any]]):
    """A read-only id -> JSON mapping that renders each object when it is looked up."""

    def __init__(self, specs: Mapping[str, Any], render: Any) -> None:
        self._specs = specs
        self._render = render

    def __getitem__(self, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._render(self._specs[key])
        return result

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, key: object) -> bool:
        return key in self._specs
