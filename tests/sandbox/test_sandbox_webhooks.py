"""The sandbox delivers its events as Stripe does: signed with Stripe's scheme (checked here by
stripe-python itself) and retried until the receiver answers 2xx."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from click.testing import CliRunner

from fcaudit.sandbox.cli import sandbox
from fcaudit.sandbox.webhooks import WebhookSender
from tests.conftest import wait_until

SECRET = "whsec_sandbox_test"


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first `failures` deliveries, then 200; keeps what it was sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, self.headers["Stripe-Signature"]))
        failing = len(self.server.received) <= self.server.failures
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_failed_delivery_is_retried_until_answered_and_each_attempt_is_signed(
    receiver: Receiver,
) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/webhook"
    sender = WebhookSender(url, SECRET, first_retry=0.01)
    try:
        sender.send([{"id": "evt_1", "object": "event", "type": "t"}])
        wait_until(lambda: sender.delivered == 1, "the delivery answered 2xx")
    finally:
        sender.close()
    assert sender.attempts == 3 and len(receiver.received) == 3
    for body, header in receiver.received:
        assert json.loads(body)["id"] == "evt_1"
        stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(body.decode(), header, "whsec_other", 300)


def test_a_delivery_to_a_receiver_that_is_not_there_is_retried() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = WebhookSender(f"http://127.0.0.1:{port}/webhook", SECRET, first_retry=0.01)
    try:
        sender.send([{"id": "evt_2"}])
        wait_until(lambda: sender.attempts >= 3, "retries")
    finally:
        sender.close()
    assert sender.delivered == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "http://127.0.0.1:9/webhook"], "needs --webhook-secret"),
        (["--webhook-url", "ftp://x/webhook", "--webhook-secret", "s"], "http(s) URL"),
        (["--webhook-secret", "s"], "needs --webhook-url"),
    ],
)
def test_webhook_flags_that_cannot_work_are_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sandbox, ["serve", "--port", "0", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
