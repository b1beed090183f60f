"""Fixtures for the sandbox tests: one shared server, SDK clients and raw HTTP helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from fcaudit.sandbox import SANDBOX_API_KEY, RunningSandbox, running_sandbox
from tests.sandbox.sandbox_support import NOW, PREVIEW, MakeClient, RawGet, raw_request


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The default data set (300 customers, seed 42) at a fixed clock, without faults."""
    with running_sandbox(now=NOW) as running:
        yield running


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Build StripeClients for a base URL; their HTTP sessions are closed after the test."""
    opened: list[stripe.HTTPClient] = []

    def make(
        base_url: str, *, version: str = PREVIEW, key: str = SANDBOX_API_KEY
    ) -> stripe.StripeClient:
        http_client = stripe.RequestsClient()
        opened.append(http_client)
        return stripe.StripeClient(
            key, base_addresses={"api": base_url}, stripe_version=version, http_client=http_client
        )

    yield make
    for http_client in opened:
        http_client.close()  # type: ignore[no-untyped-call]  # stripe's own signature


@pytest.fixture
def client(sandbox: RunningSandbox, make_client: MakeClient) -> stripe.StripeClient:
    """A StripeClient speaking the preview version to the shared sandbox."""
    made: stripe.StripeClient = make_client(sandbox.base_url)
    return made


@pytest.fixture
def ga_client(sandbox: RunningSandbox, make_client: MakeClient) -> stripe.StripeClient:
    """A StripeClient speaking a GA version to the shared sandbox."""
    from tests.sandbox.sandbox_support import GA

    made: stripe.StripeClient = make_client(sandbox.base_url, version=GA)
    return made


@pytest.fixture
def raw() -> RawGet:
    """Plain HTTP requests without the SDK: raw(base_url, path, method=..., headers=...)."""
    return raw_request
