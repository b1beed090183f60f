"""What a failed request says: the network's reason or Stripe's words, and a tip that is true
for that kind of failure (one test per kind pins its tip)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
import urllib3

from fcaudit.errors import ExitCode
from fcaudit.stripe.failures import TIPS, Failure
from fcaudit.stripe.transport import DeadlineExceeded, RedirectRefused, failure_of
from tests.conftest import API, report_of, run
from tests.stripe_fake import ACCOUNTS, add_error

# The unfiltered list, one attempt: a failure stops the run with its one-line error and tip.
SCAN = ("scan", "--discovery", "accounts", "--max-retries", "0", "-f", "json")


def tip_of(stderr: str) -> str:
    assert stderr.count("\n") == 1, stderr
    return stderr.rsplit(" Tip: ", 1)[1].rstrip("\n").rstrip(".")


def _caused(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def _as_requests_raises(reason: BaseException) -> requests.ConnectionError:
    """A network failure as requests raises it: ConnectionError(MaxRetryError(reason))."""
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, API, reason))  # type: ignore[arg-type]


def _new_connection_error(message: str) -> BaseException:
    conn: Any = None  # urllib3 keeps the connection for its message only
    return urllib3.exceptions.NewConnectionError(conn, message)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_a_refused_connection_says_nothing_listens_not_re_run_later(closed_port: int) -> None:
    result = run(*SCAN, "--api-base", f"http://127.0.0.1:{closed_port}")
    assert result.exit_code == ExitCode.API
    assert "could not reach the API ([Errno 111] Connection refused)" in result.stderr
    assert tip_of(result.stderr) == TIPS[Failure.REFUSED]
    assert "--discovery customers" not in result.stderr and "later" not in result.stderr


def test_a_proxy_that_refuses_says_check_https_proxy(closed_port: int) -> None:
    result = run(*SCAN, HTTPS_PROXY=f"http://127.0.0.1:{closed_port}", NO_PROXY="")
    assert result.exit_code == ExitCode.API
    assert "could not reach the API through the proxy" in result.stderr
    assert tip_of(result.stderr) == TIPS[Failure.PROXY]


def test_no_answer_within_the_deadline_says_timeout(silent_port: int) -> None:
    result = run(*SCAN, "--api-base", f"http://127.0.0.1:{silent_port}", "--timeout", "0.3")
    assert result.exit_code == ExitCode.API
    assert "no complete response within 0.3 s" in result.stderr
    assert tip_of(result.stderr) == TIPS[Failure.TIMEOUT]


def test_a_host_name_that_does_not_resolve_says_check_the_name(
    stripe_api: responses.RequestsMock,
) -> None:
    gai = socket.gaierror(-2, "Name or service not known")
    reason = _caused(
        urllib3.exceptions.NameResolutionError("api.stripe.com", None, gai),  # type: ignore[arg-type]
        gai,
    )
    stripe_api.get(API + ACCOUNTS, body=_as_requests_raises(reason))
    result = run(*SCAN)
    assert "[Errno -2] Name or service not known" in result.stderr
    assert tip_of(result.stderr) == TIPS[Failure.DNS]


@pytest.mark.parametrize(
    ("status", "body", "kind", "said"),
    [
        (500, {"error": {"type": "api_error", "message": "Stripe broke"}}, Failure.SERVER, ""),
        (
            429,
            {"error": {"type": "invalid_request_error", "message": "Too many"}},
            Failure.RATE_LIMITED,
            "",
        ),
        (
            404,
            {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}},
            Failure.NOT_FOUND,
            "",
        ),
        (
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Received unknown parameter: limit",
                    "param": "limit",
                }
            },
            Failure.REFUSED_REQUEST,
            "Received unknown parameter: limit",
        ),
        (502, b"<html>Bad gateway</html>", Failure.SERVER, ""),
        (200, b"<html>Sign in to the proxy</html>", Failure.NOT_STRIPE, ""),
        (400, b"<html>Bad request</html>", Failure.NOT_STRIPE, "not a Stripe JSON body"),
    ],
)
def test_each_http_failure_has_the_tip_of_its_kind(
    stripe_api: responses.RequestsMock, status: int, body: object, kind: Failure, said: str
) -> None:
    if isinstance(body, bytes):
        stripe_api.get(API + ACCOUNTS, status=status, body=body, content_type="text/html")
    else:
        stripe_api.get(API + ACCOUNTS, status=status, json=body)
    result = run(*SCAN)
    assert result.exit_code == ExitCode.API, result.stderr
    assert tip_of(result.stderr) == TIPS[kind]
    message = body["error"]["message"] if isinstance(body, dict) else said
    assert message in result.stderr  # Stripe's words (or what the answer was) reach the user


def test_a_redirect_elsewhere_says_check_the_api_base(stripe_api: responses.RequestsMock) -> None:
    stripe_api.get(API + ACCOUNTS, status=302, headers={"Location": "https://evil.example/x"})
    result = run(*SCAN)
    assert "redirected to another host or port (evil.example)" in result.stderr
    assert tip_of(result.stderr) == TIPS[Failure.REDIRECT]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (RedirectRefused("x"), Failure.REDIRECT),
        (DeadlineExceeded("x"), Failure.TIMEOUT),
        (requests.exceptions.ProxyError("x"), Failure.PROXY),
        (_caused(_new_connection_error("x"), ConnectionRefusedError(111, "no")), Failure.REFUSED),
        (_new_connection_error("[Errno 101] Network is unreachable"), Failure.NETWORK),
        (requests.ConnectionError("Connection reset by peer"), Failure.NETWORK),
        (None, Failure.NETWORK),
    ],
)
def test_a_network_failure_is_classified_by_the_exceptions_behind_it(
    exc: BaseException | None, kind: Failure
) -> None:
    # urllib3's NewConnectionError descends from ConnectTimeoutError: a refused or
    # unreachable network must not read as a timeout ("give it longer").
    wrapped = _as_requests_raises(exc) if exc is not None else None
    assert failure_of(wrapped) is kind


def test_every_kind_has_a_tip() -> None:
    assert set(TIPS) == set(Failure)


def test_auth_error_message_reads_cleanly(stripe_api: responses.RequestsMock) -> None:
    add_error(stripe_api, "/v1/customers", 401, message="Invalid API Key provided: sk_test_****.")
    result = run("scan", "--discovery", "customers")
    assert ".." not in result.stderr and "Tip:" in result.stderr


def test_a_scope_that_failed_is_one_line_with_the_tip_of_its_kind(
    stripe_api: responses.RequestsMock,
) -> None:
    add_error(stripe_api, ACCOUNTS, 404, message="No such customer: 'cus_gone'")
    result = run("scan", "--customer", "cus_gone", "-f", "json")
    assert result.exit_code == ExitCode.INCOMPLETE
    first = result.stderr.splitlines()[0]
    assert first == (
        "Error: customer cus_gone: No such customer: 'cus_gone' (HTTP 404) [req_err_404]. "
        f"Tip: {TIPS[Failure.NOT_FOUND]}."
    )
    (error,) = report_of(result)["errors"]
    assert error["message"] == "No such customer: 'cus_gone' (HTTP 404)"  # errors[] unchanged
