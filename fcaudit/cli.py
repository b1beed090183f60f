"""The command line: click commands and shared options. Wiring only; no Stripe calls here."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, NoReturn, TextIO

import click

from fcaudit.classify import NotClassifiable
from fcaudit.classify import classify as classify_object
from fcaudit.client import StripeGateway, key_mode
from fcaudit.context import (
    AppContext,
    StripeOptions,
    check_id,
    parse_as_of,
)
from fcaudit.errors import ExitCode, FcauditError, InputError, UsageError
from fcaudit.findings import Category, Finding
from fcaudit.inputs import read_items
from fcaudit.output import OutputTarget
from fcaudit.policy import DEFAULT_FAIL_ON, exit_code, parse_fail_on
from fcaudit.progress import ProgressDisplay
from fcaudit.render import OutputFormat, ReportMeta, get_renderer, resolve_format
from fcaudit.scan import Scanner, ScanResult, Scope
from fcaudit.stripe_api import DEFAULT_HORIZON_DAYS, is_preview
from fcaudit.stripe_api import PREVIEW_VERSION as DEFAULT_PREVIEW_VERSION
from fcaudit.text import safe


class FcauditGroup(click.Group):
    """The one place errors become a one-line message and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click prints usage errors as Usage/Try/blank/Error; cron mail and log lines want
        # one line that names the problem and the fix.
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx else "fcaudit"
            _fail(f"{err.format_message()} Tip: see '{where} --help'.", ExitCode.USAGE)
        except click.ClickException as err:
            _fail(err.format_message(), ExitCode(err.exit_code))
        except click.exceptions.Abort:
            _fail("interrupted.", ExitCode.INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FcauditError as err:
            _fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted.", ExitCode.INTERRUPTED)
        except BrokenPipeError:
            _closed_stdout()
        except OSError as err:  # writing the report failed (disk full, permissions)
            _fail(
                f"cannot write the report: {err.strerror or err}. Tip: free disk space or "
                "choose another output; an existing --output file is left untouched.",
                ExitCode.API,
            )


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"Error: {safe(message)}", err=True)
    sys.exit(int(code))


def _closed_stdout() -> NoReturn:
    """The reader went away (`| head`): stop quietly, like a process killed by SIGPIPE."""
    # Point fd 1 at /dev/null so the interpreter's final flush can't fail again.
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt_once(signum: int, frame: Any) -> None:
    # The first signal stops the run; later ones (a second Ctrl-C, `timeout` signalling the
    # whole process group) are ignored until exit, so the partial report is still written
    # and the exit code stays 130.
    for s in _STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM (cron timeouts, systemd) stop a run the same way, once."""
    previous = {s: signal.signal(s, _interrupt_once) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            if signal.getsignal(s) is _interrupt_once:  # not after an interrupt: see above
                signal.signal(s, h)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """While the report is written, a second Ctrl-C or SIGTERM must not throw it away."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# -- shared options -----------------------------------------------------------------------


def stripe_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Connection and budget flags, accepted after the command name."""
    opts = [
        click.option(
            "--api-key",
            envvar="STRIPE_API_KEY",
            show_envvar=True,
            metavar="KEY",
            help="Secret (sk_) or restricted (rk_) key. Prefer the environment variable: "
            "a flag is visible in the process list.",
        ),
        click.option(
            "--stripe-version",
            envvar="FCAUDIT_STRIPE_VERSION",
            show_envvar=True,
            default=DEFAULT_PREVIEW_VERSION,
            show_default=True,
            help="Stripe-Version header. Inactive causes and authorizations need a preview "
            "version.",
        ),
        click.option(
            "--stripe-account",
            metavar="acct_...",
            help="Send Stripe-Account: read the FC accounts of this connected account.",
        ),
        click.option(
            "--api-base",
            envvar="FCAUDIT_API_BASE",
            show_envvar=True,
            metavar="URL",
            help="Talk to another server (a proxy, or `fcaudit sandbox serve`).",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Run against an embedded sandbox with test data; no key needed.",
        ),
        click.option(
            "--max-rps",
            type=click.FloatRange(min=0),
            help="Global request budget per second (0 = unlimited). Default: 80 for live "
            "keys, 20 for test keys, unlimited with --sandbox.",
        ),
        click.option(
            "--max-endpoint-rps",
            type=click.FloatRange(min=0),
            help="Per-endpoint request budget per second (0 = unlimited). Default: 20.",
        ),
        click.option(
            "--concurrency",
            type=int,
            help="Requests in flight at most. Default: 16.",
        ),
        click.option(
            "--timeout",
            type=float,
            default=30.0,
            show_default=True,
            help="Seconds to wait for one response before retrying.",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(0, 20),
            default=6,
            show_default=True,
            help="Retries per request for 429, 5xx, timeouts and dropped connections "
            "(exponential backoff with jitter, at most 2 minutes per request).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Output and policy flags shared by every command that writes a report."""
    opts = [
        click.option(
            "-f",
            "--format",
            "fmt",
            type=click.Choice([str(x) for x in OutputFormat], case_sensitive=False),
            default="auto",
            show_default=True,
            help="auto = table on a terminal, json otherwise.",
        ),
        click.option(
            "-o",
            "--output",
            metavar="FILE",
            help="Write the report to FILE atomically (a failed run leaves FILE untouched).",
        ),
        click.option(
            "--fail-on",
            default=DEFAULT_FAIL_ON,
            show_default=True,
            help="Exit 1 when a finding has one of these categories (comma list, 'any' or 'none').",
        ),
        click.option(
            "--as-of",
            metavar="DATE",
            help="Classify as if now were DATE (YYYY-MM-DD or ISO 8601). Default: now.",
        ),
        click.option(
            "--expiring-within",
            type=click.IntRange(0, 3650),
            default=DEFAULT_HORIZON_DAYS,
            show_default=True,
            metavar="DAYS",
            help="Horizon for 'expiring' (Stripe warns 30 days ahead).",
        ),
        click.option("--show-active", is_flag=True, help="Table: list active findings too."),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors."),
        click.option(
            "--color/--no-color",
            default=None,
            help="Force colour on or off (default: on for terminals, off with NO_COLOR).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _stripe_opts(kw: dict[str, Any]) -> StripeOptions:
    api_base = kw.pop("api_base")
    source = click.get_current_context().get_parameter_source("api_base")
    if kw["sandbox"] and source is click.core.ParameterSource.ENVIRONMENT:
        api_base = None  # an exported FCAUDIT_API_BASE must not block a --sandbox demo
    return StripeOptions(
        api_key=kw.pop("api_key"),
        stripe_version=kw.pop("stripe_version"),
        stripe_account=kw.pop("stripe_account"),
        api_base=api_base,
        sandbox=kw.pop("sandbox"),
        max_rps=kw.pop("max_rps"),
        max_endpoint_rps=kw.pop("max_endpoint_rps"),
        concurrency=kw.pop("concurrency"),
        timeout=kw.pop("timeout"),
        max_retries=kw.pop("max_retries"),
    )


# -- the report runner --------------------------------------------------------------------


class Report:
    """One command's report: options, output target, renderer, and the exit decision."""

    def __init__(self, command: str, scope: dict[str, Any], kw: dict[str, Any]) -> None:
        self.app = AppContext(quiet=kw["quiet"], color=kw["color"])
        self.fail_on = parse_fail_on(kw["fail_on"])
        self.as_of = parse_as_of(kw["as_of"], self.app.clock)
        self.horizon = int(kw["expiring_within"])
        self.meta = ReportMeta(
            command=command,
            generated_at=datetime.now(UTC),
            as_of=self.as_of,
            horizon_days=self.horizon,
            fail_on=sorted(self.fail_on),
            scope=scope,
            show_active=kw["show_active"],
            color=kw["color"],
        )
        self.output_path: str | None = kw["output"]
        self.fmt = OutputFormat(kw["fmt"].lower())

    def classifier(self, stripe_version: str | None, keep_raw: bool) -> Callable[..., Finding]:
        def run(obj: dict[str, Any], **extra: Any) -> Finding:
            finding = classify_object(
                obj,
                now=self.as_of,
                horizon_days=self.horizon,
                stripe_version=extra.pop("stripe_version", stripe_version),
                **extra,
            )
            return dataclasses.replace(finding, raw=obj) if keep_raw else finding

        return run

    @contextlib.contextmanager
    def open(self, *, detail: bool = False) -> Iterator[tuple[Any, OutputTarget]]:
        """Yield (renderer, target); commit on success, discard on any exception."""
        target = OutputTarget(self.output_path)
        fmt = resolve_format(self.fmt, stdout_is_tty=sys.stdout.isatty(), to_file=target.is_file)
        self.meta.detail = detail and fmt is OutputFormat.TABLE
        try:
            yield get_renderer(fmt, target.stream, self.meta), target
        except BaseException:
            target.discard()
            raise

    def finish(self, renderer: Any, target: OutputTarget, result: ScanResult) -> NoReturn:
        with _signals_deferred():
            renderer.finish(result)
            target.commit()
        self._summary(result, target)
        code = exit_code(
            result.counts,
            self.fail_on,
            incomplete=bool(result.errors),
            interrupted=result.interrupted,
        )
        sys.exit(int(code))

    def _summary(self, result: ScanResult, target: OutputTarget) -> None:
        shown = 20  # a fleet-wide outage must not flood stderr; errors[] has them all
        for e in result.errors[:shown]:
            scope = f"{e.scope.type} {e.scope.id}" if e.scope.id else e.scope.type
            rid = f" [{e.request_id}]" if e.request_id else ""
            self.app.error(f"{safe(scope)}: {safe(e.message)}{rid}")
        if len(result.errors) > shown:
            more = len(result.errors) - shown
            self.app.error(f"... and {more} more failed scope(s) in the report's errors[].")
        counts = ", ".join(f"{result.counts[c]} {c}" for c in Category if result.counts.get(c))
        parts = [f"{result.accounts} account(s)"]
        if result.authorizations:
            parts.append(f"{result.authorizations} authorization(s)")
        line = f"fcaudit: {', '.join(parts)}" + (f": {counts}" if counts else "")
        if result.interrupted:
            line += "; interrupted, report incomplete"
        elif result.errors:
            line += f"; {len(result.errors)} scope(s) failed, report incomplete"
        if target.path is not None:
            line += f"; report written to {target.path}"
        self.app.info(safe(line))


def _run_remote(
    report: Report,
    opts: StripeOptions,
    work: Callable[[Scanner], ScanResult],
    *,
    authorizations: bool = False,
    detail: bool = False,
    needs_preview: str | None = None,
) -> NoReturn:
    if needs_preview and not is_preview(opts.stripe_version):
        raise UsageError(
            f"{needs_preview} needs a preview API version; Stripe-Version "
            f"{safe(opts.stripe_version)} has no Authorization endpoint. Tip: use "
            f"--stripe-version {DEFAULT_PREVIEW_VERSION}."
        )
    with (
        _interruptible(),
        report.app.gateway(opts) as gateway,
        report.open(detail=detail) as (renderer, target),
    ):
        report.meta.stripe_version = gateway.settings.stripe_version
        report.meta.mode = key_mode(gateway.settings.api_key)
        sink = renderer.finding
        scanner = Scanner(
            gateway,
            report.classifier(gateway.settings.stripe_version, keep_raw=detail),
            sink,
            concurrency=opts.concurrency or 16,
            authorizations=authorizations,
        )
        started = time.monotonic()
        with _progress(report, scanner, gateway):
            result = work(scanner)
        report.meta.stats = {
            **gateway.stats.snapshot(),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        report.finish(renderer, target, result)


@contextlib.contextmanager
def _progress(report: Report, scanner: Scanner, gateway: StripeGateway) -> Iterator[None]:
    if report.app.quiet or not report.app.err.is_terminal:
        yield
        return
    with ProgressDisplay(report.app.err, scanner, gateway.stats):
        yield


# -- commands -----------------------------------------------------------------------------

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name="fcaudit", cls=FcauditGroup, context_settings=CONTEXT)
@click.version_option(package_name="fcaudit", prog_name="fcaudit")
def cli() -> None:
    """Audit Stripe Financial Connections accounts: find bank links that are broken or about
    to break, and say what to do about each.

    The key comes from STRIPE_API_KEY (or --api-key). fcaudit only ever sends GET requests.
    Exit codes: 0 clean, 1 findings matched --fail-on, 2 usage or input error, 3
    authentication or permission error, 4 an API error stopped the run, 5 incomplete (some
    scopes failed), 130 interrupted.

    \b
    Examples:
      fcaudit scan --sandbox                      # try it: embedded test data, no key
      fcaudit scan                                # every customer of the account
      fcaudit scan --format ndjson | jq -r 'select(.category=="relink_required") | .id'
      fcaudit scan -q -o /var/lib/fcaudit/report.json || alert "fcaudit exit $?"
      fcaudit account fca_123 fca_456
      fcaudit classify webhook-event.json
    """


def _read_ids(values: Iterable[str], files: Iterable[IO[str]]) -> list[str]:
    ids = list(values)
    for handle in files:
        name = getattr(handle, "name", "-")
        line_no = 0
        try:
            for line_no, line in enumerate(handle, start=1):
                text = line.lstrip("\ufeff").split("#", 1)[0].strip()
                if not text:
                    continue
                try:
                    ids.append(check_id(text, "cus_", "customer"))
                except UsageError as err:
                    raise UsageError(f"{safe(name)} line {line_no}: {err}") from None
        except UnicodeDecodeError:
            raise UsageError(
                f"{safe(name)} is not UTF-8 text. Tip: one cus_ id per line."
            ) from None
    return list(dict.fromkeys(ids))  # de-duplicated, order kept


@cli.command()
@click.option(
    "--customer",
    "customers",
    multiple=True,
    metavar="cus_...",
    help="Scan this customer's accounts (repeatable).",
)
@click.option(
    "--customers-from",
    type=click.File("r", encoding="utf-8"),
    multiple=True,
    metavar="FILE",
    help="Read customer ids from FILE, one per line ('-' = stdin; '#' starts a comment).",
)
@click.option(
    "--account-holder",
    "holders",
    multiple=True,
    metavar="acct_...",
    help="Scan accounts whose holder is this connected account (repeatable).",
)
@click.option(
    "--session",
    "sessions",
    multiple=True,
    metavar="fcsess_...",
    help="Scan the accounts linked in this Financial Connections session (repeatable).",
)
@click.option(
    "--authorizations",
    is_flag=True,
    help="Also retrieve and classify every authorization the accounts reference (preview).",
)
@report_options
@stripe_options
def scan(
    customers: tuple[str, ...],
    customers_from: tuple[IO[str], ...],
    holders: tuple[str, ...],
    sessions: tuple[str, ...],
    authorizations: bool,
    **kw: Any,
) -> None:
    """Find every FC account in a scope and classify it.

    With no scope flag, every customer of the Stripe account is scanned. Findings are
    sorted by severity, then by expected deactivation date.

    \b
    Examples:
      fcaudit scan --sandbox
      fcaudit scan --customer cus_123 --customer cus_456 --format json
      cut -d, -f1 customers.csv | fcaudit scan --customers-from - -o report.json
      fcaudit scan --account-holder acct_123 --stripe-account acct_platform
      fcaudit scan --authorizations --format ndjson | jq 'select(.object|endswith("authorization"))'
      fcaudit scan --fail-on relink_required -q -o /srv/reports/fc.json  # cron
    """
    opts = _stripe_opts(kw)
    customer_ids = _read_ids([check_id(c, "cus_", "customer") for c in customers], customers_from)
    holder_ids = list(dict.fromkeys(check_id(h, "acct_", "connected account") for h in holders))
    session_ids = list(dict.fromkeys(check_id(s, "fcsess_", "session") for s in sessions))
    given = [
        name
        for name, present in (
            ("--customer/--customers-from", bool(customers or customers_from)),
            ("--account-holder", bool(holder_ids)),
            ("--session", bool(session_ids)),
        )
        if present
    ]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)} conflict: Stripe filters accounts by one of them at a "
            "time. Tip: run one scan per scope type."
        )
    if (customers or customers_from) and not customer_ids:
        raise UsageError("--customers-from: no customer ids found. Tip: one cus_ id per line.")
    scopes: list[Scope] | None
    scope: dict[str, Any]
    if customer_ids:
        scope = {"type": "customers", "ids": customer_ids}
        scopes = [Scope("customer", c) for c in customer_ids]
    elif holder_ids:
        scope = {"type": "account_holders", "ids": holder_ids}
        scopes = [Scope("account_holder", h) for h in holder_ids]
    elif session_ids:
        scope = {"type": "sessions", "ids": session_ids}
        scopes = [Scope("session", s) for s in session_ids]
    else:
        scope = {"type": "all_customers", "ids": None}
        scopes = None
    if opts.stripe_account:
        scope["stripe_account"] = opts.stripe_account
    report = Report("scan", scope, kw)
    _run_remote(
        report,
        opts,
        lambda s: s.scan(scopes),
        authorizations=authorizations,
        needs_preview="--authorizations" if authorizations else None,
    )


def _retrieve_command(kind: str, prefix: str, what: str) -> Callable[..., None]:
    def command(ids: tuple[str, ...], **kw: Any) -> None:
        opts = _stripe_opts(kw)
        checked = list(dict.fromkeys(check_id(i, prefix, what) for i in ids))
        scope: dict[str, Any] = {"type": f"{kind}s", "ids": checked}
        if opts.stripe_account:
            scope["stripe_account"] = opts.stripe_account
        report = Report(kind, scope, kw)
        _run_remote(
            report,
            opts,
            lambda s: s.retrieve(kind, checked),
            detail=True,
            needs_preview="fcaudit authorization" if kind == "authorization" else None,
        )

    return command


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="FCA_ID...")
@report_options
@stripe_options
def account(ids: tuple[str, ...], **kw: Any) -> None:
    """Retrieve FC accounts by id and classify them.

    In table mode each account gets a detail view with every status signal.

    \b
    Examples:
      fcaudit account fca_1MwVK2
      fcaudit account fca_1 fca_2 --format json | jq '.findings[] | {id, category}'
      fcaudit account fca_1 --stripe-version 2026-09-30.preview
    """
    _retrieve_command("account", "fca_", "Financial Connections account")(ids, **kw)


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="FCAUTH_ID...")
@report_options
@stripe_options
def authorization(ids: tuple[str, ...], **kw: Any) -> None:
    """Retrieve FC authorizations by id (preview API versions only) and classify them.

    One relink of an authorization repairs every account linked through it.

    \b
    Examples:
      fcaudit authorization fcauth_1Mx9
      fcaudit authorization fcauth_1 fcauth_2 --format ndjson
    """
    _retrieve_command("authorization", "fcauth_", "Financial Connections authorization")(ids, **kw)


@cli.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@report_options
def classify(source: str, **kw: Any) -> None:
    """Classify saved objects offline; no key, no network.

    Input: one account or authorization, a Stripe list object, a JSON array, NDJSON (one
    object per line), or an Event whose data.object is an account or authorization (a saved
    webhook payload such as financial_connections.account.deactivated). '-' reads stdin.

    \b
    Examples:
      fcaudit classify event.json
      stripe events list --type 'financial_connections.account.*' | fcaudit classify -
      fcaudit classify accounts.ndjson --format ndjson --as-of 2026-12-01
    """
    if source == "-" and sys.stdin.isatty():
        raise UsageError("no input on stdin. Tip: give a FILE, or pipe JSON into fcaudit.")
    name = "stdin" if source == "-" else source
    report = Report("classify", {"type": "file", "source": name}, kw)
    report.meta.flush_each = False
    run = report.classifier(None, keep_raw=False)
    with (
        _interruptible(),
        _open_source(source) as stream,
        report.open() as (renderer, target),
    ):
        result = ScanResult()
        try:
            for item in read_items(stream, name):
                try:
                    finding = run(dict(item.obj), stripe_version=item.stripe_version)
                except NotClassifiable as err:
                    raise InputError(f"{item.where}: {err}.") from None
                result.count(finding)
                renderer.finding(finding)
        except KeyboardInterrupt:
            result.interrupted = True  # write what was classified, marked incomplete
        report.finish(renderer, target, result)


@contextlib.contextmanager
def _open_source(source: str) -> Iterator[TextIO]:
    if source == "-":
        yield sys.stdin
        return
    try:
        handle = open(source, encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        raise InputError(
            f"cannot read {safe(source)}: {err.strerror}. Tip: check the path."
        ) from None
    try:
        yield handle
    except UnicodeDecodeError:
        raise InputError(f"{safe(source)} is not UTF-8 text. Tip: give a JSON file.") from None
    finally:
        handle.close()


def _register_sandbox() -> None:
    try:
        from fcaudit.sandbox.cli import sandbox
    except ImportError:  # pragma: no cover - the sandbox ships with the package
        return
    cli.add_command(sandbox)


_register_sandbox()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="fcaudit")
