"""Stripe ids: one prefix table, and one check of an id's shape for users' and Stripe's ids."""

from __future__ import annotations

import pytest

from fcaudit.errors import UsageError
from fcaudit.stripe import ids
from fcaudit.stripe.ids import BY_OBJECT, BY_PREFIX, check_id, is_stripe_id, kind_of
from tests.conftest import run


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("fca_1", ids.ACCOUNT),
        ("fcauth_1", ids.AUTHORIZATION),
        ("cus_1", ids.CUSTOMER),
        ("acct_1", ids.CONNECTED_ACCOUNT),
        ("evt_1", ids.EVENT),
        ("fcsess_1", ids.SESSION),
        ("pm_1", None),
        ("fca", None),
        ("_1", None),
    ],
)
def test_an_ids_prefix_names_its_kind(value: str, kind: ids.IdKind | None) -> None:
    assert kind_of(value) is kind


def test_the_table_maps_prefixes_and_objects_both_ways() -> None:
    for prefix, kind in BY_PREFIX.items():
        assert kind.prefix == prefix
        assert BY_OBJECT[kind.object] is kind


def test_check_id_accepts_what_the_gateway_accepts_and_nothing_longer() -> None:
    longest = "fca_" + "a" * (ids.MAX_ID_LENGTH - 4)
    assert check_id(f"  {longest} ", ids.ACCOUNT) == longest
    assert is_stripe_id(longest, "fca_")
    with pytest.raises(UsageError, match="is 256 characters long; Stripe's ids have at most 255"):
        check_id(longest + "a", ids.ACCOUNT)
    assert not is_stripe_id(longest + "a", "fca_")


@pytest.mark.parametrize(
    "value", ["fca_", "cus_1", "fca_1/../x", "fca_1?x=1", "fca_ 1", "fca_1%2F"]
)
def test_check_id_refuses_another_kind_or_a_character_outside_an_id(value: str) -> None:
    with pytest.raises(UsageError, match="Tip: Financial Connections account ids look like fca_"):
        check_id(value, ids.ACCOUNT)


def test_the_cli_refuses_an_id_longer_than_stripe_ids() -> None:
    result = run("account", "fca_" + "a" * 300)
    assert result.exit_code == 2
    assert "is 304 characters long; Stripe's ids have at most 255" in result.stderr
