"""`fcaudit account` and `fcaudit authorization`: objects retrieved by id."""

from __future__ import annotations

import responses

from fcaudit.errors import ExitCode
from tests.conftest import API, run
from tests.conftest import report_of as json_out
from tests.factories import account
from tests.stripe_fake import ACCOUNTS, add_error


def test_account_not_found_is_reported(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS + "/fca_1", json=account())
    add_error(stripe_api, ACCOUNTS + "/fca_nope", 404)
    result = run("account", "fca_1", "fca_nope", "-f", "json")
    assert result.exit_code == ExitCode.INCOMPLETE
    doc = json_out(result)
    assert [f["id"] for f in doc["findings"]] == ["fca_1"]
    assert doc["errors"][0]["scope"] == {"type": "account", "id": "fca_nope"}
