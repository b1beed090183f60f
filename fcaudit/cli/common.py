"""What every report-writing command does with its options: build the plan, run the pipeline."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from fcaudit.app import AppContext
from fcaudit.errors import ExitCode, UsageError
from fcaudit.model.report import GroupBy
from fcaudit.model.saved import SavedReport, load_report
from fcaudit.options import ReportOptions, StripeOptions, parse_as_of
from fcaudit.policy import parse_fail_on_change
from fcaudit.render import EXTENSIONS, WITH_GROUPS, OutputFormat
from fcaudit.stripe.facts import (
    AUTHORIZATIONS_GA_SINCE,
    PREVIEW_VERSION,
    is_preview,
    retrieves_authorizations,
)
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.model.report import Scope
    from fcaudit.rules import Ruleset
    from fcaudit.runner import Plan


def configured(name: str) -> bool:
    """Whether this run's value of an option (by click parameter name) is the config file's:
    a default there, which the run's own flags may set aside (README 'Configuration file')."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT_MAP


def app_for(report: ReportOptions) -> AppContext:
    """The AppContext on ctx.obj (tests put their own there), with this command's verbosity."""
    ctx = click.get_current_context()
    app = ctx.find_object(AppContext)
    if app is None:
        app = ctx.ensure_object(AppContext)
    app.quiet = report.quiet
    app.color = report.color
    return app


# Extensions of formats fcaudit does not write, and what to use instead: `-o fc.txt` without
# --format is refused, not written as JSON under a name that says otherwise.
OTHER_FORMATS = {
    ".txt": "table",
    ".text": "table",
    ".log": "table",
    ".jsonl": "ndjson",
    ".htm": "html",
    ".markdown": "markdown",
    ".tsv": "csv",
    ".xls": "csv",
    ".xlsx": "csv",
    ".ods": "csv",
    ".yaml": "json",
    ".yml": "json",
    ".xml": "json",
    ".toml": "json",
}


def check_paths(report: ReportOptions) -> None:
    """Every file option names a file: an empty one (`-o ''`, an unset shell variable) is
    refused before any request, not found out when the report is written."""
    for flag, value in (
        ("-o/--output", report.output),
        ("--metrics", report.metrics),
        ("--baseline", report.baseline),
        ("--ignore", report.ignore),
        ("--rules", report.rules_file),
    ):
        if value is not None and not value.strip():
            drop = " to write to stdout" if flag == "-o/--output" else ""
            raise UsageError(
                f"{flag} is empty: it needs a file name. Tip: name a file, or drop {flag}"
                f"{drop} (an unset shell variable gives '')."
            )


def check_output(report: ReportOptions) -> None:
    """`-o json` is almost always `--format json` (the kubectl habit): refuse it, write nothing."""
    check_paths(report)
    name = report.output
    words = {str(f) for f in OutputFormat} | {e.lstrip(".") for e in EXTENSIONS}
    if name is not None and name.lower() in words:
        raise UsageError(
            f"-o/--output names a file, not a format: '-o {safe(name)}' would write a file "
            f"called {safe(name)}. Tip: use --format {_format_for(name)} (or -o ./{safe(name)} "
            "for a file of that name)."
        )


def _format_for(word: str) -> str:
    """`md` -> `markdown`: the format a bare extension or format name stands for."""
    word = word.lower()
    return str(EXTENSIONS.get("." + word, word))


def output_format(report: ReportOptions) -> OutputFormat:
    """--format, or the -o file's extension when --format is not given; both must agree."""
    fmt = OutputFormat(report.fmt)
    if report.output is None or report.output == "-":
        return fmt
    suffix = os.path.splitext(report.output)[1].lower()
    by_extension = EXTENSIONS.get(suffix)
    if fmt is OutputFormat.AUTO and by_extension is None and suffix in OTHER_FORMATS:
        instead = OTHER_FORMATS[suffix]
        rename = "" if instead == "table" else f", or name the file {_extension_of(instead)}"
        raise UsageError(
            f"-o {safe(report.output)}: fcaudit writes no {suffix} format, and would write "
            f"JSON under that name. Tip: add --format {instead} to write the {instead} into "
            f"it{rename}."
        )
    if fmt is OutputFormat.AUTO or (by_extension is not None and configured("fmt")):
        # The config file's format is a default: the extension of this run's -o picks.
        return by_extension or fmt
    if by_extension is not None and by_extension is not fmt:
        raise UsageError(
            f"--format {fmt} does not match the {suffix} extension of -o {safe(report.output)}. "
            f"Tip: drop --format (the extension picks {by_extension}), or rename the file."
        )
    return fmt


def _extension_of(fmt: str) -> str:
    """`markdown` -> `.md`: the extension that picks a format."""
    return next(e for e, f in EXTENSIONS.items() if str(f) == fmt)


def _same_path(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def make_plan(
    app: AppContext,
    command: str,
    scope: Mapping[str, Any],
    report: ReportOptions,
    *,
    detail: bool = False,
    flush_each: bool = True,
    events: bool = False,
    stripe_account: str | None = None,
    contact: bool = False,
    with_state: bool = False,
) -> Plan:
    """The run's plan from the report options: formats and outputs, baseline, rules, ignores,
    policy."""
    from fcaudit.render import RenderOptions
    from fcaudit.runner import Plan, SinkSpec

    check_output(report)
    fmt = output_format(report)
    if contact and report.group_by is GroupBy.NONE:
        raise UsageError(
            "--contact adds names and emails to customer groups, and --group-by none has "
            "none. Tip: use --group-by customer."
        )
    if contact and fmt not in WITH_GROUPS and fmt is not OutputFormat.AUTO:
        raise UsageError(
            f"--contact adds names and emails to groups, which --format {fmt} does not carry. "
            "Tip: use --format json, csv, markdown, html or table."
        )
    sinks = [SinkSpec(fmt, report.output)]
    if report.metrics is not None:
        if report.output is not None and _same_path(report.output, report.metrics):
            raise UsageError(
                "-o and --metrics name the same file: one would replace the other. Tip: "
                "give the metrics their own file (e.g. fcaudit.prom)."
            )
        sinks.append(SinkSpec(OutputFormat.PROMETHEUS, report.metrics, flag="--metrics"))
    metrics = fmt is OutputFormat.PROMETHEUS or report.metrics is not None
    labels = report.metrics_labels
    if labels and not metrics and configured("metrics_labels"):
        labels = ()  # the config file's, for runs that write metrics: this one writes none
    if labels and not metrics:
        raise UsageError(
            "--metrics-label labels Prometheus series, and this run writes none. Tip: add "
            "--metrics FILE (or --format prometheus)."
        )
    compared = report.baseline is not None or command == "diff" or with_state
    fail_on_change = report.fail_on_change
    if fail_on_change is not None and not compared and configured("fail_on_change"):
        fail_on_change = None  # the config file's, for runs that compare: nothing to compare
    if fail_on_change is not None and not compared:
        raise UsageError(
            "--fail-on-change needs something to compare with. Tip: --baseline "
            "yesterday.json (or --state FILE on a scan)."
        )
    return Plan(
        baseline=load_baseline(report.baseline) if report.baseline else None,
        fail_on_change=parse_fail_on_change(fail_on_change),
        ignore=_load_ignore(report.ignore) if report.ignore else (),
        group_by=report.group_by,
        stripe_account=stripe_account,
        contact=contact,
        rules=load_ruleset(report),
        events=events,
        command=command,
        scope=scope,
        as_of=parse_as_of(report.as_of, app.clock),
        horizon_days=report.horizon_days,
        fail_on=report.fail_on,
        sinks=sinks,
        render=RenderOptions(
            detail=detail,
            show_active=report.show_active,
            color=report.color,
            flush_each=flush_each,
            group_by=report.group_by,
            pager=app.out.isatty() if report.pager is None else report.pager,
            show_suppressed=report.show_suppressed,
            contact=contact,
            metrics_account=stripe_account,
            metrics_labels=parse_metrics_labels(labels),
        ),
        keep_raw=detail,
    )


def parse_metrics_labels(given: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """--metrics-label NAME=VALUE pairs, checked: a Prometheus label name that is not one of
    fcaudit's own, each name once, and a value of at most LABEL_LIMIT characters."""
    if not given:
        return ()  # the usual run: the metrics module stays unimported
    from fcaudit.render.prometheus import LABEL_LIMIT, LABEL_NAME, OWN_LABELS

    pairs: dict[str, str] = {}
    for item in given:
        name, eq, value = item.partition("=")
        shown = safe(name, limit=60)
        if not eq or not LABEL_NAME.fullmatch(name) or name.startswith("__"):
            raise UsageError(
                f"--metrics-label {safe(item, limit=60)}: expected NAME=VALUE with a Prometheus "
                "label name (letters, digits and _, not starting with a digit or __). Tip: "
                "--metrics-label job=nightly."
            )
        if name in OWN_LABELS:
            raise UsageError(
                f"--metrics-label {shown}: fcaudit writes that label itself. Tip: choose "
                "another name."
            )
        if name in pairs:
            raise UsageError(f"--metrics-label {shown} is given twice. Tip: give it once.")
        if len(value) > LABEL_LIMIT:
            raise UsageError(
                f"--metrics-label {shown}: the value has {len(value)} characters, more than "
                f"{LABEL_LIMIT}. Tip: a shorter value."
            )
        pairs[name] = value
    return tuple(pairs.items())


def audited_account(plan: Plan, gateway: Any) -> Plan:
    """The plan with the audited account for the metrics' `stripe_account` label: the
    --stripe-account given, else the key's own account (GET /v1/account, asked only when
    metrics are written), else `platform` when the key may not read it."""
    wanted = any(sink.fmt is OutputFormat.PROMETHEUS for sink in plan.sinks)
    if not wanted or plan.render.metrics_account is not None:
        return plan
    account = gateway.own_account_id() or "platform"
    return dataclasses.replace(
        plan, render=dataclasses.replace(plan.render, metrics_account=account)
    )


def _load_ignore(path: str) -> Any:
    from fcaudit import suppress  # tomllib and the rest only when --ignore is given

    return suppress.load(path)


def load_baseline(path: str, what: str = "--baseline") -> tuple[str, SavedReport]:
    """An earlier fcaudit JSON report; anything else is exit 2 before anything is written."""
    from fcaudit import tomlfile  # the same readable-file checks

    text = tomlfile.read(path, what)
    return path, load_report(text, safe(path))


def load_ruleset(report: ReportOptions) -> Ruleset | None:
    """The shipped institution rules, plus or overridden by --rules FILE; None with --no-rules."""
    from fcaudit.rules import default_rules, load_rules

    if report.no_rules:
        if report.rules_file:
            raise UsageError("--rules and --no-rules conflict. Tip: use one of them.")
        return None
    rules = default_rules()
    return rules.merged(load_rules(report.rules_file)) if report.rules_file else rules


def run_remote(
    app: AppContext,
    stripe: StripeOptions,
    plan: Plan,
    scopes: Iterable[Scope] | None,
    *,
    authorizations: bool = False,
    needs_preview: str | None = None,
    contacts: bool = False,
    state: Any = None,
    **discovery: Any,
) -> ExitCode:
    """Scan or retrieve through Stripe (or the embedded sandbox) and run the pipeline.

    `discovery`: the Scanner's `discovery` and `connected_accounts` (fcaudit scan)."""
    from fcaudit.runner import Pipeline
    from fcaudit.signals import interruptible
    from fcaudit.sources.scan import Scanner

    if needs_preview == "--authorizations" and not is_preview(stripe.stripe_version):
        raise UsageError(
            f"--authorizations needs a preview API version: at Stripe-Version "
            f"{safe(stripe.stripe_version)} accounts do not name their authorization. Tip: "
            f"use --stripe-version {PREVIEW_VERSION}."
        )
    if needs_preview and not retrieves_authorizations(stripe.stripe_version):
        raise UsageError(
            f"{needs_preview} needs a preview API version, or a GA one from "
            f"{AUTHORIZATIONS_GA_SINCE} on: Stripe documents no Authorization endpoint at "
            f"Stripe-Version {safe(stripe.stripe_version)}. Tip: use --stripe-version "
            f"{PREVIEW_VERSION}."
        )
    with interruptible(), app.gateway(stripe) as gateway:
        plan = audited_account(plan, gateway)
        scanner = Scanner(
            gateway,
            scopes,
            concurrency=stripe.workers,
            authorizations=authorizations,
            contacts=contacts,
            **discovery,
        )
        progress = None
        # A progress line only on a real terminal: --color must not send cursor controls
        # into a log file or a pipe.
        if not app.quiet and app.err.isatty():

            def progress(result: Any) -> Any:
                from fcaudit.cli.progress import ProgressDisplay
                from fcaudit.console import make_console

                console = make_console(app.err, color=app.color)
                return ProgressDisplay(console, scanner, result, gateway.stats)

        if state is None:
            return Pipeline(app, plan).run(scanner, progress)
        from fcaudit.sources.incremental import StateRun

        run = StateRun(gateway, state, plan.as_of)  # --as-of is "now" for the store too
        try:
            source, plan = run.prepare(scanner, plan)
            pipeline = Pipeline(app, plan)
            shown = progress if run.full_because is not None else None
            code = pipeline.run(source, shown, keeper=run)
        finally:
            run.discard()  # releases the store; a no-op once published
        if run.message:
            app.info(run.message)
        return code


def unique(values: Sequence[str]) -> list[str]:
    """The values in order, each once."""
    return list(dict.fromkeys(values))  # de-duplicated, order kept
