"""`fcaudit listen` refuses what cannot work before it serves (one line, exit 2), and a thin
event whose object cannot be fetched is never an exception out of the handler."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fcaudit.cli.listen import resolver
from fcaudit.errors import AuthError
from fcaudit.stripe.failures import BudgetSpent, RequestFailed
from tests.conftest import run


def test_no_signing_secret_is_exit_2_saying_where_it_comes_from(tmp_path: Path) -> None:
    result = run("listen", "--state", str(tmp_path / "fc.db"), key=None)
    assert result.exit_code == 2
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_state_in_a_missing_directory_is_exit_2(tmp_path: Path) -> None:
    result = run(
        "listen", "--state", str(tmp_path / "nope" / "fc.db"), STRIPE_WEBHOOK_SECRET="whsec_x"
    )
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_a_port_in_use_is_exit_2_and_leaves_no_secret_in_the_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run(
            "listen", "--state", str(tmp_path / "fc.db"), "--port", port,
            STRIPE_WEBHOOK_SECRET="whsec_secret_value", key=None,
        )  # fmt: skip
    assert result.exit_code == 2 and "is in use" in result.stderr
    assert "whsec_secret_value" not in result.stderr + result.stdout


class _Failing:
    """A gateway whose every fetch fails with `failure`."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def fetch_account(self, oid: str, **kw: object) -> object:
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (RequestFailed("HTTP 500"), "HTTP 500"),
        (AuthError("the key was rejected. Tip: check it"), "the key was rejected"),
        (BudgetSpent(), "--max-requests was spent"),
    ],
)
def test_a_thin_events_fetch_that_fails_in_any_way_is_a_lookup_error(
    failure: Exception, said: str
) -> None:
    with pytest.raises(LookupError, match=said):
        resolver(_Failing(failure))("financial_connections.account", "fca_1", None)
