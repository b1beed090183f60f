"""Part `listen` of the benchmark: how many events per second `fcaudit listen` records
durably, and how soon a break made in the sandbox is on its stdout.

Throughput: CLIENTS threads POST EVENTS signed deliveries (distinct event ids, every other one
a break, over keep-alive connections) to the installed `fcaudit listen --state F`; each answer
is a 2xx only once its event is committed to F.journal (WAL, synchronous=FULL), so the rate of
2xx answers is the rate of durable records. Target (issue #25): at least 500 events/s on the
2-core machine. Then the journal is counted: it must hold every event answered 2xx.

Latency: `fcaudit sandbox serve --webhook-url` delivers the events of each POST to its control
endpoint (one account deactivated); the time from the control POST to the account's line on
listen's stdout, BREAKS times. Target: under a second.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from run import FCAUDIT, KEY, _control, sandbox  # bench/run.py, beside this

from fcaudit.sandbox.webhooks import signature_header

SECRET = "whsec_bench"
EVENTS = 5000
CLIENTS = 8
BREAKS = 10


def _start(state: Path) -> tuple[subprocess.Popen[bytes], int, list[dict[str, Any]]]:
    env = {**os.environ, "STRIPE_WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        [FCAUDIT, "listen", "--state", str(state), "--port", "0", "--max-in-flight", "16"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None and proc.stdout is not None
    first = proc.stderr.readline().decode()
    if "serving on" not in first:
        proc.kill()
        raise SystemExit(f"listen did not start: {first!r}")
    port = int(first.split("serving on http://127.0.0.1:", 1)[1].split("/", 1)[0])
    lines: list[dict[str, Any]] = []
    stamps: list[float] = []

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            stamps.append(time.perf_counter())
            lines.append({**json.loads(raw), "_seen": stamps[-1]})

    threading.Thread(target=pump, daemon=True).start()
    threading.Thread(
        target=lambda: proc.stderr.read() if proc.stderr else None, daemon=True
    ).start()
    return proc, port, lines


def _event(n: int) -> bytes:
    broken = n % 2 == 1
    obj = {
        "id": f"fca_bench{n % 500}",
        "object": "financial_connections.account",
        "status": "inactive" if broken else "active",
        "status_details": {"inactive": {"cause": "access_expired", "action": "relink_required"}}
        if broken
        else {},
    }
    event = {"id": f"evt_bench{n}", "object": "event", "created": 1_800_000_000 + n,
             "type": "financial_connections.account.deactivated", "data": {"object": obj}}  # fmt: skip
    return json.dumps(event).encode()


def throughput(port: int) -> dict[str, Any]:
    ok = [0] * CLIENTS
    bodies = [_event(n) for n in range(EVENTS)]

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(k, EVENTS, CLIENTS):
            body = bodies[n]
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header(body, SECRET, int(time.time())),
            }
            conn.request("POST", "/webhook", body, headers)
            response = conn.getresponse()
            response.read()
            ok[k] += 200 <= response.status < 300
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "events": EVENTS,
        "clients": CLIENTS,
        "answered_2xx": sum(ok),
        "wall_s": round(wall, 2),
        "events_per_s": round(sum(ok) / wall),
    }


def latency(port: int, lines: list[dict[str, Any]], state: Path) -> dict[str, Any]:
    waits: list[float] = []
    url = f"http://127.0.0.1:{port}/webhook"
    with sandbox(customers=200, webhook_url=url, webhook_secret=SECRET) as box:
        subprocess.run(
            [FCAUDIT, "scan", "--api-base", box.url, "--api-key", KEY, "-q", "-f", "json",
             "--fail-on", "none", "--state", str(state)],
            stdout=subprocess.DEVNULL,
            check=True,
        )  # fmt: skip
        for seed in range(BREAKS):
            started = time.perf_counter()
            changed = _control(box, {"deactivate": 1, "seed": seed})["changed"][0]["id"]
            deadline = started + 10
            while time.perf_counter() < deadline:
                seen = [line["_seen"] for line in lines if line.get("id") == changed]
                if seen:
                    waits.append(seen[0] - started)
                    break
                time.sleep(0.002)
    return {
        "breaks": BREAKS,
        "seen": len(waits),
        "median_ms": round(statistics.median(waits) * 1000) if waits else None,
        "max_ms": round(max(waits) * 1000) if waits else None,
    }


def listen_bench() -> dict[str, Any]:
    """Both measures, and the journal counted against the 2xx answers."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "fc.sqlite"
        proc, port, lines = _start(state)
        try:
            out = {"throughput": throughput(port)}
            with sqlite3.connect(f"{state}.journal") as db:
                out["throughput"]["journaled"] = db.execute(
                    "SELECT count(*) FROM events WHERE event_id LIKE 'evt_bench%'"
                ).fetchone()[0]
            out["latency"] = latency(port, lines, state)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    t, lat = out["throughput"], out["latency"]
    out["ok"] = (
        t["events_per_s"] >= 500
        and t["journaled"] == t["answered_2xx"] == EVENTS
        and lat["seen"] == BREAKS
        and (lat["max_ms"] or 10**9) < 1000
    )
    return out


def listen_markdown(res: dict[str, Any]) -> list[str]:
    """The part's table."""
    t, lat = res["throughput"], res["latency"]
    return [
        "### fcaudit listen",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| events recorded durably (2xx answers), {t['clients']} clients | "
        f"{t['events_per_s']}/s ({t['answered_2xx']} in {t['wall_s']} s; journal holds "
        f"{t['journaled']}) | >= 500/s |",
        f"| a sandbox break to listen's stdout | median {lat['median_ms']} ms, max "
        f"{lat['max_ms']} ms ({lat['seen']} of {lat['breaks']}) | < 1000 ms |",
        "",
    ]
