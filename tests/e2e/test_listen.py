"""End to end: the sandbox delivers its events to `fcaudit listen` (the installed executable),
listen announces the break, and the next `scan --state` agrees with what listen recorded; a
scan running while listen receives loses nothing; SIGTERM lets a delivery in flight finish;
bad input is refused over HTTP without a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox
from fcaudit.sandbox.webhooks import WebhookSender, signature_header
from tests.conftest import report_of, run, wait_until
from tests.e2e.test_incremental import scan
from tests.e2e.test_scan import NOW_DT, Sandbox, control

FCAUDIT = str(Path(sys.executable).parent / "fcaudit")
SECRET = "whsec_e2e_listen"


@dataclass
class Listener:
    """A running `fcaudit listen`: its URL, and its stdout lines as they come."""

    proc: subprocess.Popen[bytes]
    url: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    pumps: list[threading.Thread] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [str(line["id"]) for line in self.lines]


def _pump(stream: IO[bytes], sink: list[Any], decode: bool) -> None:
    sink.extend(json.loads(raw) if decode else raw.decode(errors="replace") for raw in stream)


def start_listen(state: Path, *args: str, api_base: str | None = None) -> Listener:
    env = {**os.environ, "STRIPE_WEBHOOK_SECRET": f"whsec_old_one,{SECRET}"}
    env.pop("STRIPE_API_KEY", None)
    if api_base:
        env.update(STRIPE_API_KEY=SANDBOX_API_KEY, FCAUDIT_API_BASE=api_base)
    proc = subprocess.Popen(
        [FCAUDIT, "listen", "--state", str(state), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None and proc.stdout is not None
    first = proc.stderr.readline().decode()
    assert "serving on http://127.0.0.1:" in first, first
    url = first.split("serving on ", 1)[1].split(" ", 1)[0]
    listener = Listener(proc, url, stderr=[first])
    for stream, sink, decode in (
        (proc.stdout, listener.lines, True),
        (proc.stderr, listener.stderr, False),
    ):
        pump = threading.Thread(target=_pump, args=(stream, sink, decode), daemon=True)
        pump.start()
        listener.pumps.append(pump)
    return listener


def finish(listener: Listener) -> int:
    """The exit status, once the process ended and its pipes are read and closed."""
    code = listener.proc.wait(30)
    for pump in listener.pumps:
        pump.join(10)
    for stream in (listener.proc.stdout, listener.proc.stderr):
        if stream is not None:
            stream.close()
    assert not any("Traceback" in line for line in listener.stderr), listener.stderr
    return code


def stop(listener: Listener) -> int:
    listener.proc.send_signal(signal.SIGTERM)
    return finish(listener)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(customers=12, now=NOW_DT) as running:
        yield Sandbox(running)


def history(oid: str, state: Path) -> dict[str, Any]:
    """`fcaudit history OID --state STATE -f json`: read-only, while anything runs."""
    done = run("history", oid, "--state", str(state), "-f", "json", key=None)
    assert done.exit_code == 0, done.stderr
    return dict(json.loads(done.stdout))


def deliver_to(sandbox: Sandbox, listener: Listener) -> WebhookSender:
    sender = WebhookSender(listener.url, SECRET, first_retry=0.05)
    sandbox.running.server.webhooks = sender  # type: ignore[attr-defined]
    return sender


def test_a_break_made_in_the_sandbox_is_announced_and_the_next_scan_agrees(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    state = tmp_path / "fc.db"
    assert scan(sandbox, state).exit_code == 0  # the store: a full run
    listener = start_listen(state, api_base=sandbox.url)
    sender = deliver_to(sandbox, listener)
    try:
        changed = control(sandbox, {"deactivate": 1, "disconnect": 1})["changed"]
        wanted = {c["id"]: c["after"] for c in changed}
        wait_until(lambda: set(listener.ids()) >= set(wanted), "listen's lines for the changes")
        announced = {line["id"]: line for line in listener.lines}
        assert {oid: announced[oid]["category"] for oid in wanted} == wanted
        assert all(announced[oid]["change"] == "new" for oid in wanted)
        assert all(announced[oid]["event_id"].startswith("evt_") for oid in wanted)
    finally:
        sender.close()
        assert stop(listener) == 0
    # Before any scan merges the journal, history shows what listen heard...
    for oid, category in wanted.items():
        heard = history(oid, state)["changes"]
        assert [(c["category_to"], c["source"]) for c in heard] == [
            (category, f"listen:{announced[oid]['event_id']}")
        ]
    after = scan(sandbox, state)
    assert after.exit_code == 0, after.stderr
    scanned = {f["id"]: f["category"] for f in report_of(after)["findings"]}
    assert {oid: scanned[oid] for oid in wanted} == wanted  # the scan agrees with listen
    # ... and once the scan has recorded the same event's change, it is shown once.
    for oid, category in wanted.items():
        changes = history(oid, state)["changes"]
        assert [c["category_to"] for c in changes] == [category], [
            (c["source"], c["at"]) for c in changes
        ]
    with sqlite3.connect(state) as db:
        merged = db.execute(
            "SELECT object_id, category_before, category_after FROM listen_events"
        ).fetchall()
    assert {(oid, after) for oid, _, after in merged} == set(wanted.items())
    assert all(before is not None for _, before, _ in merged)  # known from the first scan


def test_a_scan_running_while_listen_receives_loses_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    state = tmp_path / "fc.db"
    assert scan(sandbox, state).exit_code == 0
    listener = start_listen(state)
    sender = deliver_to(sandbox, listener)
    events: list[str] = []
    done: list[int] = []
    try:
        scanning = threading.Thread(target=lambda: done.append(scan(sandbox, state).exit_code))
        scanning.start()
        for seed in range(4):  # deliveries while the scan runs
            events += [e["id"] for e in control(sandbox, {"deactivate": 1, "seed": seed})["events"]]
        scanning.join()
        wait_until(lambda: sender.delivered == len(events), "every delivery answered 2xx")
    finally:
        sender.close()
        assert stop(listener) == 0
    assert done == [0]
    assert scan(sandbox, state).exit_code == 0  # merges whatever the first one did not
    with sqlite3.connect(state) as db:
        stored = {r[0] for r in db.execute("SELECT event_id FROM listen_events")}
    with sqlite3.connect(f"{state}.journal") as db:
        journaled = {r[0] for r in db.execute("SELECT event_id FROM events")}
    assert stored == set(events)  # every event is in the store
    assert journaled <= stored  # what the journal still holds is merged


def _raw_post(url: str, body: bytes, header: str, *, send: int | None = None) -> socket.socket:
    host, rest = url.removeprefix("http://").split("/", 1)
    name, port = host.split(":")
    sock = socket.create_connection((name, int(port)), timeout=10)
    head = (
        f"POST /{rest} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: {header}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[: len(body) if send is None else send])
    return sock


def _status(sock: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    return int(answer.split(b" ", 2)[1])


def _event(eid: str) -> bytes:
    broken = {"inactive": {"cause": "access_expired", "action": "relink_required"}}
    obj = {"id": "fca_sig1", "object": "financial_connections.account", "status": "inactive",
           "status_details": broken}  # fmt: skip
    return json.dumps({"id": eid, "object": "event", "created": int(time.time()),
                       "type": "financial_connections.account.deactivated",
                       "data": {"object": obj}}).encode()  # fmt: skip


def test_sigterm_lets_a_delivery_in_flight_finish_and_record(tmp_path: Path) -> None:
    listener = start_listen(tmp_path / "fc.db")
    try:
        body = _event("evt_inflight")
        header = signature_header(body, SECRET, int(time.time()))
        # Connected, half sent: whether listen has accepted it yet or it still waits in the
        # backlog, it is in flight.
        sock = _raw_post(listener.url, body, header, send=10)
        listener.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: any("stopping" in line for line in listener.stderr), "listen stopping")
        sock.sendall(body[10:])  # the rest of the body, after the signal
        assert _status(sock) == 200
    finally:
        if listener.proc.poll() is None:
            listener.proc.send_signal(signal.SIGTERM)
    assert finish(listener) == 0
    assert listener.ids() == ["fca_sig1"]
    with sqlite3.connect(tmp_path / "fc.db.journal") as db:
        assert db.execute("SELECT event_id FROM events").fetchall() == [("evt_inflight",)]


def test_bad_deliveries_get_4xx_over_http_and_never_a_traceback(tmp_path: Path) -> None:
    listener = start_listen(tmp_path / "fc.db")
    now = int(time.time())
    good = _event("evt_good")
    try:
        too_big = b"{" + b" " * (1024 * 1024) + b"}"
        assert _status(_raw_post(listener.url, too_big, "t=1,v1=00")) == 413
        assert _status(_raw_post(listener.url, good, signature_header(good, "whsec_x", now))) == 400
        stale = signature_header(good, SECRET, now - 301)
        assert _status(_raw_post(listener.url, good, stale)) == 400
        junk = b"{not json"
        assert _status(_raw_post(listener.url, junk, signature_header(junk, SECRET, now))) == 400
        wrong_path = listener.url.rsplit("/", 1)[0] + "/other"
        assert _status(_raw_post(wrong_path, good, signature_header(good, SECRET, now))) == 404
        assert _status(_raw_post(listener.url, good, signature_header(good, SECRET, now))) == 200
    finally:
        assert stop(listener) == 0
    assert listener.ids() == ["fca_sig1"]
    rejected = [line for line in listener.stderr if "answered 4" in line]
    assert len(rejected) == 4 and not any(SECRET in line for line in listener.stderr)


def test_exec_runs_once_per_change_with_the_finding_on_stdin(tmp_path: Path) -> None:
    got = tmp_path / "changes.ndjson"
    listener = start_listen(tmp_path / "fc.db", "--exec", f"cat >> {got}")
    now = int(time.time())
    try:
        for eid in ("evt_x1", "evt_x2"):  # the second is the same break again: no change
            body = _event(eid)
            status = _status(_raw_post(listener.url, body, signature_header(body, SECRET, now)))
            assert status == 200
        wait_until(lambda: got.exists() and got.read_text().count("\n") >= 1, "--exec's run")
    finally:
        assert stop(listener) == 0
    runs = [json.loads(line) for line in got.read_text().splitlines()]
    assert [(r["id"], r["category"], r["event_id"]) for r in runs] == [
        ("fca_sig1", "relink_required", "evt_x1")
    ]
    assert runs == listener.lines  # the same record as the NDJSON line
