"""The README runs: every console example of the README, its cron scripts and each command's
--help examples are run against the sandbox, as the installed `fcaudit` in a shell.

Placeholders become real ids the sandbox serves (`cus_123` a customer with accounts,
`fca_1MwVK2` an account, `acct_123` a holder of the right kind, ...), paths such as
/var/lib/fcaudit a temporary directory, and port 12111 a free one. `notify-oncall` and `alert`
are stand-ins that record their call, and `stripe events list` (the Stripe CLI) one that
lists the sandbox's events. Examples that are not run are in `NOT_RUN`, each with its reason;
a test checks that each still exists. Each example must exit 0, or 1 (findings matched
--fail-on), with no error and no traceback on stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fcaudit.sandbox import SANDBOX_API_KEY, running_sandbox

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # the venv's bin: `fcaudit`, as installed

# Examples not run, and why. Each must still be in the README or a --help.
NOT_RUN = {
    "make demo": "runs `fcaudit scan --sandbox`, which is run below",
    "make lint test": "runs this test suite",
    "make test K=golden": "runs part of this test suite",
    "make bench": "the benchmark: minutes, and run by `make bench`",
    "make sandbox": "serves on the fixed port 12111 until stopped; `sandbox serve` is run below",
    "pipx install .": "installs fcaudit; the tests run the installed one",
    "export STRIPE_API_KEY=rk_live_...": "every example runs with the sandbox's key set",
    # fcaudit listen serves until stopped and says so on stderr (stdout is its NDJSON):
    # tests/e2e/test_listen.py runs the same flow against the sandbox, the installed listen.
    "STRIPE_WEBHOOK_SECRET=whsec_... fcaudit listen --state /var/lib/fcaudit/fc.sqlite &": (
        "serves until stopped; tests/e2e/test_listen.py runs listen"
    ),
    "fcaudit listen --state /var/lib/fcaudit/fc.sqlite --exec 'jq -r .recommendation | "
    "notify-oncall'": "serves until stopped; tests/e2e/test_listen.py runs --exec",
    "stripe listen --forward-to localhost:8765/webhook": "the Stripe CLI's own listener",
    "STRIPE_WEBHOOK_SECRET=whsec_sandbox_demo fcaudit listen --state fc.sqlite --port 8765 "
    "--api-base http://127.0.0.1:12111 --api-key sk_test_123 &": (
        "serves until stopped; tests/e2e/test_listen.py runs this flow"
    ),
}
# A transcript, not an example to run: its failure is tests/stripe/test_tls_and_proxies.py's.
TRANSCRIPTS = ("Error: the TLS certificate of api.stripe.com:443",)

FAKES = {
    "notify-oncall": 'echo "$*" >> "$HOME/alerts"\n',
    "alert": 'echo "$*" >> "$HOME/alerts"\n',
    # The Stripe CLI's `stripe events list --type T [--limit N]`, answered by the sandbox.
    "stripe": (
        'type=""; limit=100\n'
        "while [ $# -gt 0 ]; do case $1 in --type) type=$2; shift;; --limit) limit=$2; shift;;"
        " esac; shift; done\n"
        'exec curl -sg -u "$STRIPE_API_KEY:" -H "Stripe-Version: 2026-09-30.preview" '
        '"$FCAUDIT_API_BASE/v1/events?type=$type&limit=$limit"\n'
    ),
}


# -- collecting the examples ------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A block of commands run in order in one directory, or a script."""

    where: str
    commands: tuple[str, ...]
    script: bool = False


def _console_commands(body: str) -> list[str]:
    commands: list[str] = []
    lines = iter(body.splitlines())
    for line in lines:
        if not line.startswith("$ "):
            continue
        command = line[2:]
        while command.rstrip().endswith("\\"):
            command = command.rstrip()[:-1] + " " + next(lines).strip()
        commands.append(command)
    return commands


def readme_examples() -> list[Example]:
    found = []
    for number, (kind, body) in enumerate(
        re.findall(r"```(console|sh|cron)\n(.*?)```", README, re.S)
    ):
        where = f"README block {number + 1} ({kind})"
        if any(t in body for t in TRANSCRIPTS):
            continue
        if kind == "console":
            commands = [c for c in _console_commands(body) if _key(c) not in NOT_RUN]
            if commands:
                found.append(Example(where, tuple(commands)))
        elif kind == "cron":
            lines = [line for line in body.splitlines() if line and not line.startswith("#")]
            found.extend(Example(where, (line.split(None, 5)[5],)) for line in lines)
        else:
            found.append(Example(where, (body,), script=True))
    return found


def _key(command: str) -> str:
    return command.split("#", 1)[0].strip()


def help_examples() -> list[Example]:
    commands = [
        (),
        ("scan",),
        ("account",),
        ("authorization",),
        ("classify",),
        ("diff",),
        ("events",),
        ("webhooks",),
        ("doctor",),
        ("sandbox",),
        ("sandbox", "serve"),
        ("state",),
        ("state", "check"),
        ("history",),
        ("trend",),
    ]
    found = []
    for command in commands:
        text = subprocess.run(
            [str(BIN / "fcaudit"), *command, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "300"},
            check=True,
        ).stdout
        block = text.split("Examples:", 1)[1].split("\nOptions:", 1)[0].split("\nCommands:")[0]
        lines = [line.strip() for line in block.strip().splitlines()]
        joined: list[str] = []
        for line in lines:
            if joined and joined[-1].endswith("\\"):
                joined[-1] = joined[-1][:-1] + " " + line
            elif line:
                joined.append(line)
        found.append(
            Example(f"fcaudit {' '.join(command)} --help".replace("  ", " "), tuple(joined))
        )
    return found


# -- the sandbox, its ids, and a directory of files the examples read ---------------------------


@dataclass(frozen=True)
class Ids:
    customers: tuple[str, str]
    accounts: tuple[str, str]
    authorizations: tuple[str, str]
    holder: str
    customer_account: str
    connected: str
    session: str


def _get(url: str, account: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Stripe-Version": "2026-09-30.preview"}
    if account:
        headers["Stripe-Account"] = account
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(customers=60) as running:  # the default data, smaller
        yield running.base_url


@pytest.fixture(scope="module")
def ids(sandbox: str) -> Ids:
    truth = _get(sandbox + "/__sandbox/truth")
    listed = _get(sandbox + "/v1/financial_connections/accounts?limit=100")
    held = [
        a
        for a in listed["data"]
        if (a.get("account_holder") or {}).get("type") == "customer"
        and a["account_holder"].get("customer")
    ]
    customers = list(dict.fromkeys(a["account_holder"]["customer"] for a in held))
    auths = [a["authorization"] for a in held if a.get("authorization")]
    return Ids(
        customers=(customers[0], customers[1]),
        accounts=(held[0]["id"], held[1]["id"]),
        authorizations=(auths[0], auths[-1]),
        holder=truth["holders"]["account"][0],
        customer_account=truth["holders"]["customer_account"][0],
        connected=truth["connected_accounts"][0],
        session=next(iter(truth["sessions"])),
    )


@pytest.fixture(scope="module")
def template(sandbox: str, ids: Ids, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files the examples read: a CSV and a list of customers, a webhook event, accounts as NDJSON,
    earlier reports, a store; the stand-ins on PATH."""
    work = tmp_path_factory.mktemp("readme")
    (work / "customers.csv").write_text(f"id,name\n{ids.customers[0]},A\n{ids.customers[1]},B\n")
    # The hourly cron job's customers: a customer of the connected account it scans.
    theirs = _get(sandbox + "/v1/customers?limit=1", account=ids.connected)["data"][0]["id"]
    (work / "vip.txt").write_text(f"{theirs}\n")
    events = _get(sandbox + "/v1/events?type=financial_connections.account.*&limit=5")
    for name in ("webhook.json", "webhook-event.json", "event.json"):
        (work / name).write_text(json.dumps(events["data"][0]))
    listed = _get(sandbox + "/v1/financial_connections/accounts?limit=20")
    (work / "accounts.ndjson").write_text("".join(json.dumps(a) + "\n" for a in listed["data"]))
    fakes = work / "bin"
    fakes.mkdir()
    for name, body in FAKES.items():
        (fakes / name).write_text("#!/bin/sh\n" + body)
        (fakes / name).chmod(0o755)
    for folder in ("lib", "textfile", "reports"):
        (work / folder).mkdir()
    env = environment(work, sandbox)
    report = subprocess.run(
        ["fcaudit", "scan", "-f", "json", "-q", "--fail-on", "none"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in (
        "yesterday.json",
        "today.json",
        "monday.json",
        "tuesday.json",
        "old.json",
        "new.json",
    ):
        (work / name).write_text(report)
    subprocess.run(
        ["fcaudit", "scan", "-q", "--fail-on", "none", "--state", "fc.sqlite", "-o", "fc.json"],
        cwd=work,
        env=env,
        check=True,
    )
    shutil.copy(work / "fc.sqlite", work / "lib" / "fc.sqlite")
    return work


def environment(work: Path, base: str) -> dict[str, str]:
    path = f"{work / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    # No XDG_CONFIG_HOME: the configuration file example writes ~/.config, in HOME below.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and k != "XDG_CONFIG_HOME"
    }
    return env | {
        "PATH": path,
        "HOME": str(work),
        "STRIPE_API_KEY": SANDBOX_API_KEY,
        "FCAUDIT_API_BASE": base,
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }


def substitute(command: str, ids: Ids, work: Path, port: int) -> str:
    """The example with the sandbox's ids, the temporary directory and the free port."""
    rules = [
        (r"--customer-account acct_\w+", f"--customer-account {ids.customer_account}"),
        (r"--account-holder acct_\w+ --stripe-account acct_\w+", f"--account-holder {ids.holder}"),
        (r"--account-holder acct_\w+", f"--account-holder {ids.holder}"),
        (r"--stripe-account acct_\w+", f"--stripe-account {ids.connected}"),
        (r"\bcus_123\b", ids.customers[0]),
        (r"\bcus_456\b", ids.customers[1]),
        (r"\bfca_(1MwVK2|123|1)\b", ids.accounts[0]),
        (r"\bfca_(1MwVK3|456|2)\b", ids.accounts[1]),
        (r"\bfcauth_(1Mx9|1)\b", ids.authorizations[0]),
        (r"\bfcauth_2\b", ids.authorizations[1]),
        (r"\bfcsess_123\b", ids.session),
        (r"\bacct_1Nv0FG\b", ids.customer_account),
        (r"rk_live_\.\.\.", SANDBOX_API_KEY),
        (r"/var/lib/fcaudit", str(work / "lib")),
        (r"/var/lib/node_exporter/textfile_collector", str(work / "textfile")),
        (r"/srv/reports", str(work / "reports")),
        (r"127\.0\.0\.1:12111", f"127.0.0.1:{port}"),
        (r"--port 12111\b", f"--port {port}"),
        (r"\.venv/bin/fcaudit", "fcaudit"),
        (r"^cd /var/lib/fcaudit", f"cd {work / 'lib'}"),
    ]
    for pattern, value in rules:
        command = re.sub(pattern, value, command, flags=re.M)
    # A server example serves until stopped: on a free port, never the fixed default.
    if re.match(r"fcaudit sandbox serve\b", command) and "--port" not in command:
        command = command.replace("fcaudit sandbox serve", "fcaudit sandbox serve --port 0", 1)
    return command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_example(example: Example, ids: Ids, template: Path, sandbox: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(template, work)
    env = environment(work, sandbox)
    # Port 12111: the block's own server when it starts one there, else the running sandbox.
    fixed = any("--port 12111" in c for c in example.commands)
    port = _free_port() if fixed else int(sandbox.rsplit(":", 1)[1])
    background: list[subprocess.Popen[str]] = []
    try:
        for raw in example.commands:
            command = substitute(raw, ids, work, port)
            serve = re.search(r"&\s*(#.*)?$", command) or re.match(
                r"fcaudit sandbox serve\b", command
            )
            if serve:
                line = re.sub(r"&\s*(#.*)?$", "", command)
                proc = subprocess.Popen(
                    ["bash", "-c", "exec " + line],
                    cwd=work,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                background.append(proc)
                assert proc.stdout is not None
                # "fcaudit sandbox serving on URL ...", once its data is built; a server that
                # never says it is killed, so the test fails instead of hanging.
                watchdog = threading.Timer(120, proc.kill)
                watchdog.start()
                first = proc.stdout.readline()
                watchdog.cancel()
                assert "serving on http://127.0.0.1:" in first, (raw, first, proc.stderr)
                continue
            shell = (
                ["sh", "-c", command]
                if example.script
                else ["bash", "-o", "pipefail", "-c", command]
            )
            done = subprocess.run(
                shell, cwd=work, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode in (0, 1), (
                f"{example.where}: {raw}\nexit {done.returncode}\n{done.stderr}"
            )
            assert "Traceback" not in done.stderr and "Error:" not in done.stderr, (
                raw,
                done.stderr,
            )
    finally:
        for proc in background:
            proc.terminate()
            proc.communicate(timeout=10)  # waits, and closes its pipes


# -- the tests ------------------------------------------------------------------------------------

README_EXAMPLES = readme_examples()
HELP_EXAMPLES = help_examples()


@pytest.mark.parametrize("example", README_EXAMPLES, ids=[e.where for e in README_EXAMPLES])
def test_each_readme_example_runs(
    example: Example, ids: Ids, template: Path, sandbox: str, tmp_path: Path
) -> None:
    run_example(example, ids, template, sandbox, tmp_path)


@pytest.mark.parametrize("example", HELP_EXAMPLES, ids=[e.where for e in HELP_EXAMPLES])
def test_each_help_example_runs(
    example: Example, ids: Ids, template: Path, sandbox: str, tmp_path: Path
) -> None:
    run_example(example, ids, template, sandbox, tmp_path)


def test_the_alert_once_script_runs_on_day_one_and_day_two(
    ids: Ids, template: Path, sandbox: str, tmp_path: Path
) -> None:
    (script,) = [e for e in README_EXAMPLES if "/etc/cron.daily/fcaudit" in e.commands[0]]
    work = tmp_path / "work"
    shutil.copytree(template, work)
    command = substitute(script.commands[0], ids, work, 0)
    env = environment(work, sandbox)
    lib = work / "lib"
    alerts = work / "alerts"
    for day in (1, 2):
        done = subprocess.run(
            ["sh", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0 and "Error" not in done.stderr, (day, done.stderr)
        report = json.loads((lib / "today.json").read_text())
        # Day one has nothing to compare with: every finding that needs action alerts (exit
        # 1). Day two compares with day one's report: the same findings are not new, so no
        # second alert.
        assert (report["baseline"] is None) == (day == 1)
        assert (lib / "yesterday.json").exists() == (day == 2)
        assert alerts.read_text().splitlines() == [
            "fcaudit exit 1 (1: new or worse findings; see today.json)"
        ]


def test_every_example_not_run_is_still_there() -> None:
    texts = README + "\n".join(c for e in HELP_EXAMPLES for c in e.commands)
    assert all(example in texts for example in NOT_RUN)
