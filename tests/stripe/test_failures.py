"""What a failed request says: the network's reason, and an auth error that reads cleanly."""

from __future__ import annotations

import responses

from tests.conftest import API, run
from tests.stripe_fake import ACCOUNTS, add_error


def test_network_errors_name_the_reason(stripe_api: responses.RequestsMock) -> None:
    import requests

    for _ in range(3):
        stripe_api.get(
            API + ACCOUNTS + "/fca_1",
            body=requests.ConnectionError(
                "HTTPConnectionPool(host='x', port=1): Max retries exceeded (Caused by "
                "NewConnectionError('<conn>: Failed to establish a new connection: "
                "[Errno 111] Connection refused'))"
            ),
        )
    result = run("account", "fca_1", "--max-retries", "0")
    assert "could not reach the API ([Errno 111] Connection refused)" in result.stderr


def test_auth_error_message_reads_cleanly(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, "/v1/customers", 401, message="Invalid API Key provided: sk_test_****.")
    result = run("scan")
    assert ".." not in result.stderr and "Tip:" in result.stderr
