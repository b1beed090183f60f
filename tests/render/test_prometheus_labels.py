"""Prometheus files of several accounts and jobs in one textfile directory: every series is
labelled with the audited account and the mode (and the operator's --metrics-label pairs), so
the files merge as node_exporter's textfile collector merges them, without a series defined
twice; label values are bounded; the README's alerting rules pass promtool and count accounts.

promtool (Debian package `prometheus`) is required (`make test` installs it): a machine
without it fails here rather than skipping the check of the README's rules.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families

from fcaudit.errors import ExitCode
from fcaudit.model.report import ScanResult
from fcaudit.render.prometheus import LABEL_LIMIT, OWN_LABELS, TOP_INSTITUTIONS
from fcaudit.sandbox.data import HOSTILE_INSTITUTIONS
from tests.conftest import run, system_tool
from tests.factories import AS_OF, account, authorization, expiring, inactive, ndjson
from tests.render.test_formats import FORMATS, output, report
from tests.render.test_prometheus import families_of, render
from tests.stripe_fake import add_accounts

README = Path(__file__).parent.parent.parent / "README.md"
Series = tuple[str, frozenset[tuple[str, str]]]


def promtool() -> str:
    return system_tool(
        "promtool", package="prometheus", checks="the README's alerting rules are checked"
    )


def series_of(text: str) -> tuple[list[Series], dict[str, tuple[str, str]]]:
    """Every sample's series (name and labels), and each family's HELP and TYPE."""
    found, heads = [], {}
    for family in text_string_to_metric_families(text):
        heads[family.name] = (family.documentation, family.type)
        found += [(s.name, frozenset(s.labels.items())) for s in family.samples]
    return found, heads


def merged(*texts: str) -> list[Series]:
    """The files as node_exporter's textfile collector reads one directory: a family in
    several files must have the same HELP and TYPE, and no series may come twice."""
    every: list[Series] = []
    heads: dict[str, tuple[str, str]] = {}
    for text in texts:
        found, head = series_of(text)
        for name, pair in head.items():
            assert heads.setdefault(name, pair) == pair, name
        every += found
    duplicates = {s for s in every if every.count(s) > 1}
    assert not duplicates, sorted(duplicates)[:3]
    return every


def scan_metrics(tmp_path: Path, *args: str) -> str:
    """A scan of one customer's accounts (a relink, an expiring one) with --metrics."""
    prom = tmp_path / f"fc-{len(list(tmp_path.iterdir()))}.prom"
    with responses.RequestsMock() as rsps:
        accounts = [
            account("fca_1", customer="cus_a", status="inactive", status_details=inactive()),
            account("fca_2", customer="cus_a", status_details=expiring(5)),
        ]
        add_accounts(rsps, "cus_a", accounts)
        result = run("scan", "--customer", "cus_a", "-q", "-f", "json", "--metrics", str(prom),
                     "--fail-on", "none", *args)  # fmt: skip
    assert result.exit_code == ExitCode.OK, result.stderr
    return prom.read_text()


def test_every_series_names_the_audited_account_and_the_mode(tmp_path: Path) -> None:
    text = scan_metrics(tmp_path, "--stripe-account", "acct_1Shop")
    found, _ = series_of(text)
    assert found and all(dict(labels).keys() >= {"stripe_account", "mode"} for _, labels in found)
    assert {dict(labels)["stripe_account"] for _, labels in found} == {"acct_1Shop"}
    assert {dict(labels)["mode"] for _, labels in found} == {"test"}  # an sk_test_ key
    # Offline, the findings tell the mode; no key names an account.
    offline, _ = series_of(output(*FORMATS["prometheus"]))
    assert {(dict(x)["stripe_account"], dict(x)["mode"]) for _, x in offline} == {
        ("unknown", "test")
    }


def test_two_accounts_files_merge_without_a_duplicate_series(tmp_path: Path) -> None:
    # The same findings in both accounts: only the account label tells their series apart.
    shop = scan_metrics(tmp_path, "--stripe-account", "acct_1Shop")
    market = scan_metrics(tmp_path, "--stripe-account", "acct_1Market")
    every = merged(shop, market)
    assert len(every) == len(series_of(shop)[0]) + len(series_of(market)[0])
    with pytest.raises(AssertionError):  # the check finds the duplicates of one file twice
        merged(shop, shop)


def test_metrics_labels_tell_jobs_of_one_account_apart(tmp_path: Path) -> None:
    daily = scan_metrics(tmp_path, "--stripe-account", "acct_1Shop", "--metrics-label",
                         "job_name=daily", "--metrics-label", "team=payments")  # fmt: skip
    hourly = scan_metrics(tmp_path, "--stripe-account", "acct_1Shop", "--metrics-label",
                          "job_name=hourly", "--metrics-label", "team=payments")  # fmt: skip
    merged(daily, hourly)
    found, _ = series_of(daily)
    assert all(("job_name", "daily") in labels and ("team", "payments") in labels
               for _, labels in found)  # fmt: skip


@pytest.mark.parametrize(
    ("label", "says"),
    [
        ("nolabel", "expected NAME=VALUE"),
        ("9x=1", "expected NAME=VALUE"),
        ("__name__=x", "expected NAME=VALUE"),
        ("a-b=1", "expected NAME=VALUE"),
        ("mode=live", "fcaudit writes that label itself"),
        ("stripe_account=acct_1", "fcaudit writes that label itself"),
        (f"job={'x' * (LABEL_LIMIT + 1)}", f"more than {LABEL_LIMIT}"),
    ],
)
def test_a_bad_metrics_label_is_exit_2_and_writes_nothing(
    tmp_path: Path, label: str, says: str
) -> None:
    prom = tmp_path / "fc.prom"
    result = run("classify", "-", "--metrics", str(prom), "--metrics-label", label, *AS_OF,
                 input=ndjson([account()]), key=None)  # fmt: skip
    assert result.exit_code == ExitCode.USAGE and says in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not prom.exists()


def test_metrics_label_twice_or_without_metrics_is_exit_2() -> None:
    twice = run("classify", "-", "-f", "prometheus", "--metrics-label", "a=1",
                "--metrics-label", "a=2", input=ndjson([account()]), key=None)  # fmt: skip
    assert twice.exit_code == ExitCode.USAGE and "given twice" in twice.stderr
    alone = run("classify", "-", "-f", "json", "--metrics-label", "a=1",
                input=ndjson([account()]), key=None)  # fmt: skip
    assert alone.exit_code == ExitCode.USAGE and "--metrics FILE" in alone.stderr


def test_label_values_are_bounded() -> None:
    text = output(*FORMATS["prometheus"])
    values = re.findall(r'="((?:[^"\\]|\\.)*)"', text)
    assert values and max(len(v) for v in values) <= LABEL_LIMIT + 10  # escapes: \\ and \"
    assert max(len(v) for _, x in series_of(text)[0] for v in dict(x).values()) <= LABEL_LIMIT
    # The 500-character institution is there, cut: its count is not lost.
    long = HOSTILE_INSTITUTIONS[-1]
    if long in report()["summary"]["by_institution"]:
        assert long[:40] in text


def test_an_institution_named_other_stays_apart_from_the_roll_up() -> None:
    result = ScanResult()
    names = [f"Bank {i:02}" for i in range(TOP_INSTITUTIONS + 5)]
    for i, name in enumerate(names):
        result.by_institution[name] = 100 - i
    result.by_institution["other"] = 99  # a real bank, in the top 20
    samples = render(result)["fcaudit_institution_findings"].samples
    shown = [(s.labels["institution"], s.labels["rolled_up"], s.value) for s in samples]
    assert ("other", "false", 99) in shown
    rest = sum(100 - i for i in range(TOP_INSTITUTIONS - 1, TOP_INSTITUTIONS + 5))
    assert shown[-1] == ("other", "true", float(rest))
    assert len(shown) == TOP_INSTITUTIONS + 1
    assert sum(v for *_, v in shown) == sum(result.by_institution.values())


def test_own_labels_cover_every_label_written() -> None:
    text = output(*FORMATS["prometheus"])
    names = {k for _, labels in series_of(text)[0] for k, _ in labels}
    assert names <= OWN_LABELS


# -- the README's alerting rules -----------------------------------------------------------------


def readme_rules() -> str:
    text = README.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "alert:" in b]
    assert len(blocks) == 1
    return str(blocks[0])


def test_metrics_pass_promtool_check_metrics() -> None:
    done = subprocess.run([promtool(), "check", "metrics"], input=output(*FORMATS["prometheus"]),
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_readme_alerting_rules_pass_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(readme_rules())
    done = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_relink_alert_counts_accounts_not_authorizations(tmp_path: Path) -> None:
    """The README's relink alert, evaluated by promtool on a real metrics file: three
    accounts need a relink, and their one authorization too; the alert counts three."""
    objects = [
        account(f"fca_{i}", status="inactive", status_details=inactive()) for i in range(3)
    ] + [authorization(status="inactive", status_details=inactive(None))]
    result = run("classify", "-", "-f", "prometheus", "--metrics-label", "job_name=daily",
                 *AS_OF, input=ndjson(objects), key=None)  # fmt: skip
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    families = families_of(result.stdout)
    series = []
    for family in families.values():
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in s.labels.items())
            series.append(f"      - series: '{s.name}{{{labels}}}'\n        values: '{s.value:g}'")
    rule = re.search(r"- alert: BankLinksNeedRelink\n\s+expr: (.*)", readme_rules())
    assert rule is not None
    (tmp_path / "rules.yml").write_text(readme_rules())
    (tmp_path / "test.yml").write_text(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
        "    input_series:\n" + "\n".join(series) + "\n"
        "    promql_expr_test:\n"
        f"      - expr: '{rule.group(1).removesuffix(' > 0')}'\n        eval_time: 0m\n"
        "        exp_samples:\n"
        '          - labels: \'{mode="test",stripe_account="unknown"}\'\n'
        "            value: 3\n"
    )
    done = subprocess.run([promtool(), "test", "rules", "test.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
