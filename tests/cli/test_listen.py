"""`fcaudit listen` refuses what cannot work before it serves: one line, exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

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
