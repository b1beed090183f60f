"""Prometheus: the golden file, parsed back with prometheus_client's text parser and checked
against the JSON report; the node_exporter textfile rules, label capping and escaping, and
`--metrics` beside a scan's report."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import responses
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from fcaudit.errors import ExitCode
from fcaudit.model.report import ScanResult
from fcaudit.render import RenderOptions
from fcaudit.render.prometheus import METRICS, STATE_ONLY, PrometheusRenderer, label_value
from fcaudit.sandbox.data import HOSTILE_INSTITUTIONS
from fcaudit.text import safe
from tests.conftest import API, run
from tests.factories import account, expiring, inactive
from tests.render.test_formats import (
    FORMATS,
    NOW,
    check_golden,
    finding,
    meta,
    output,
    records,
    report,
)
from tests.stripe_fake import ACCOUNTS, add_accounts, add_customers, add_error

PLATFORM = "acct_1Platform0000"


def families_of(text: str) -> dict[str, Metric]:
    families = {m.name: m for m in text_string_to_metric_families(text)}
    assert all(m.type == "gauge" for m in families.values())
    return families


# On every series (the audited account and the mode): `value()` looks past them.
COMMON = ("stripe_account", "mode")


def value(families: dict[str, Metric], name: str, **labels: str) -> float:
    def own(found: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in found.items() if k not in COMMON}

    samples = [s for s in families[name].samples if own(s.labels) == labels]
    assert len(samples) == 1, (name, labels)
    return float(samples[0].value)


def render(result: ScanResult, *findings: Any) -> dict[str, Metric]:
    out = io.StringIO()
    renderer = PrometheusRenderer(out, RenderOptions())
    for f in findings:
        renderer.finding(f)
    renderer.finish(result, meta())
    return families_of(out.getvalue())


def test_prometheus_is_exactly_the_golden_file() -> None:
    check_golden("classify.prom", output(*FORMATS["prometheus"]))


def deadline(rec: dict[str, Any]) -> float | None:
    dates = [s["date"] for s in rec["signals"] if s["code"] == "account_number_expiring"]
    when = rec["expected_deactivation_date"] or min(filter(None, dates), default=None)
    return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() if when else None


def test_prometheus_parses_and_agrees_with_the_json_report() -> None:
    families = families_of(output(*FORMATS["prometheus"]))
    # Offline: no requests, and no duration (classify has none to report).
    # Nor ages: those need a --state store.
    offline = set(METRICS) - {"run_duration_seconds"} - STATE_ONLY
    assert set(families) == {f"fcaudit_{n}" for n in offline}
    summary = report()["summary"]
    for kind, counts in summary["by_object"].items():
        for category, n in counts.items():
            assert value(families, "fcaudit_findings", object=kind, category=category) == n
    for code, n in summary["by_signal"].items():
        assert value(families, "fcaudit_signal_findings", signal=code) == n
    assert value(families, "fcaudit_customers_affected") == summary["customers_affected"]
    assert value(families, "fcaudit_broken_accounts") == summary["broken"]["accounts"]
    assert value(families, "fcaudit_broken_authorizations") == summary["broken"]["authorizations"]
    samples = families["fcaudit_institution_findings"].samples
    institutions = {s.labels["institution"]: s.value for s in samples}
    assert sum(institutions.values()) == sum(summary["by_institution"].values())
    hostile = [n for n in HOSTILE_INSTITUTIONS if n in summary["by_institution"]]
    assert len(hostile) >= 3
    for name in hostile:
        assert institutions[safe(name)] == summary["by_institution"][name]
    future = [d for r in records().values() if (d := deadline(r)) and d > NOW.timestamp()]
    assert value(families, "fcaudit_next_deactivation_timestamp_seconds") == min(future)
    assert value(families, "fcaudit_last_run_timestamp_seconds") == NOW.timestamp()
    assert value(families, "fcaudit_run_complete") == 1
    assert value(families, "fcaudit_run_requests", sent_for="platform") == 0
    assert value(families, "fcaudit_run_rate_limited", reason="none") == 0
    assert len(families["fcaudit_run_rate_limited"].samples) == 6  # every reason, always
    assert value(families, "fcaudit_run_errors") == 0


def test_prometheus_is_a_valid_textfile() -> None:
    text = output(*FORMATS["prometheus"])
    assert text.endswith("\n")
    lines = text.splitlines()
    for name, help_text in METRICS.items():
        if name != "run_duration_seconds" and name not in STATE_ONLY:
            assert lines.count(f"# HELP fcaudit_{name} {help_text}") == 1
            assert lines.count(f"# TYPE fcaudit_{name} gauge") == 1
    samples = [line for line in lines if not line.startswith("#")]
    # No timestamps (node_exporter refuses them), and every series once.
    assert all(re.fullmatch(r"fcaudit_[a-z_]+(\{.*\})? (\d+(\.\d+)?|\+Inf)", s) for s in samples)
    series = [s.rsplit(" ", 1)[0] for s in samples]
    assert len(series) == len(set(series))
    # Labels hold bounded values only: never an object's id.
    assert not re.search(r"\b(fca|fcauth|cus|acct|fcsess)_[A-Za-z0-9]", text)


def test_prometheus_caps_institutions_and_escapes_label_values() -> None:
    result = ScanResult()
    names = [f"Bank {i:02}" for i in range(25)] + ['Quote " Back \\ Slash', "other", "A\nB"]
    for i, name in enumerate(names):
        result.by_institution[name] = 100 - i
    result.by_institution["\x1b[31mRed"] = 1
    families = render(result)
    samples = families["fcaudit_institution_findings"].samples
    shown = {s.labels["institution"]: s.value for s in samples}
    assert list(shown) == [f"Bank {i:02}" for i in range(20)] + ["other"]
    # The rest, the one called "other" and the hostile ones included, are summed as other.
    assert shown["other"] == sum(result.by_institution.values()) - sum(100 - i for i in range(20))
    assert label_value('Quote " Back \\ Slash') == 'Quote \\" Back \\\\ Slash'
    assert label_value("A\nB") == "A\\\\x0aB"  # made visible first, so no raw newline either
    assert value(families, "fcaudit_next_deactivation_timestamp_seconds") == float("inf")
    assert "fcaudit_run_duration_seconds" not in families


def test_prometheus_merges_institutions_that_look_alike_once_made_safe() -> None:
    result = ScanResult()
    result.by_institution.update({"A\x1bB": 2, "A\\x1bB": 3})
    samples = render(result)["fcaudit_institution_findings"].samples
    assert [(s.labels["institution"], s.value) for s in samples] == [("A\\x1bB", 5), ("other", 0)]


def test_next_deactivation_is_the_earliest_after_as_of() -> None:
    dates = [NOW + timedelta(days=d) for d in (-3, 9, 4)]
    found = [finding(f"fca_{i}", expected_deactivation_date=d) for i, d in enumerate(dates)]
    families = render(ScanResult(), *found, finding("fca_none"))
    upcoming = value(families, "fcaudit_next_deactivation_timestamp_seconds")
    assert datetime.fromtimestamp(upcoming, UTC) == NOW + timedelta(days=4)


def fleet(rsps: responses.RequestsMock) -> None:
    """Two customers: one with a relink and a hostile-named institution, one that fails."""
    rsps.get(API + "/v1/account", json={"id": PLATFORM, "object": "account"})
    add_customers(rsps, ["cus_a", "cus_gone"])
    accounts = [
        account("fca_1", customer="cus_a", status="inactive", status_details=inactive()),
        account("fca_2", customer="cus_a", status_details=expiring(5), institution='A "B"\nC'),
    ]
    add_accounts(rsps, "cus_a", accounts)
    query = {"account_holder[customer]": "cus_gone"}
    add_error(rsps, ACCOUNTS, 404, message="No such customer: 'cus_gone'", query=query)


def test_scan_writes_metrics_beside_the_report(
    stripe_api: responses.RequestsMock, tmp_path: Path
) -> None:
    fleet(stripe_api)
    out, prom = tmp_path / "fc.md", tmp_path / "fc.prom"
    result = run("scan", "-o", str(out), "--metrics", str(prom), "-q", "--discovery", "customers")
    assert result.exit_code == ExitCode.INCOMPLETE, result.stderr
    text = out.read_text()
    assert "- Complete: no: 1 scope failed (see Errors)" in text
    row = "| customer cus_gone | No such customer: 'cus_gone' (HTTP 404) | req_err_404 | 404 |"
    head = "| Scope | Message | Request id | HTTP status |\n| --- | --- | --- | --- |"
    assert text.endswith(f"## Errors\n\n{head}\n{row}\n")
    families = families_of(prom.read_text())
    assert value(families, "fcaudit_run_complete") == 0
    assert value(families, "fcaudit_run_errors") == 1
    # The key's own account, read once for the stripe_account label, then the scan's three.
    assert value(families, "fcaudit_run_requests", sent_for="platform") == 4
    assert len(stripe_api.calls) == 4
    assert {s.labels["stripe_account"] for f in families.values() for s in f.samples} == {PLATFORM}
    assert {s.labels["mode"] for f in families.values() for s in f.samples} == {"test"}
    assert value(families, "fcaudit_run_retries") == 0
    assert value(families, "fcaudit_run_duration_seconds") >= 0
    assert (
        value(
            families, "fcaudit_institution_findings", institution='A "B"\\x0aC', rolled_up="false"
        )
        == 1
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc.md", "fc.prom"]  # no temp left


def test_scan_prometheus_to_stdout(stripe_api: responses.RequestsMock) -> None:
    fleet(stripe_api)
    result = run("scan", "-f", "prometheus", "-q", "--discovery", "customers")
    assert result.exit_code == ExitCode.INCOMPLETE
    families = families_of(result.stdout)
    assert value(families, "fcaudit_findings", object="account", category="relink_required") == 1
