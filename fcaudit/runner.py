"""The one pipeline every command runs: source -> classify -> stages -> sinks -> ExitCode.

A *source* finds objects (a scan, a retrieval, a file) and emits them, from any thread. The
runner classifies each one, passes the finding through the *stages* in order (a stage sees
every finding and the end of the run, and may hold, drop or add findings), and hands what
comes out to every *sink* (a renderer writing to stdout or to a file). At the end the sinks
are finished and committed, each on its own, and the policy turns the outcome into an
`ExitCode`. Nothing here calls `sys.exit`: the click group does that, in one place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from fcaudit.app import AppContext
from fcaudit.classify import DEFAULT_STALE_AFTER, NotClassifiable, classify
from fcaudit.errors import ExitCode
from fcaudit.model.findings import Change, Finding
from fcaudit.model.report import (
    GroupBy,
    ReportMeta,
    ScanResult,
    plural,
    summary_text,
)
from fcaudit.model.saved import SavedReport, baseline_info
from fcaudit.output import OutputTarget, prepare_stdout
from fcaudit.policy import Policy, exit_code
from fcaudit.render import (
    WITH_GROUPS,
    OutputFormat,
    RenderOptions,
    get_renderer,
    resolve_format,
)
from fcaudit.signals import deferred_signals
from fcaudit.sources.base import Observed, Source, SourceOutcome
from fcaudit.stages import (
    BaselineDiff,
    Grouping,
    LatestSnapshot,
    RelinkCount,
    Stage,
    Suppress,
    Tally,
)
from fcaudit.suppress import Entry
from fcaudit.text import safe

if TYPE_CHECKING:
    from fcaudit.rules import Ruleset

# A fleet-wide outage must not flood stderr; the report's errors[] has them all.
MAX_ERRORS_SHOWN = 20


class Keeper(Protocol):
    """What a run keeps besides its reports (the --state store), committed with them."""

    def stage(self, result: ScanResult) -> None:
        """Write what the run keeps, ready to replace the old (raises when it can't)."""

    def publish(self) -> None:
        """Make what was staged the kept state (after every report was written)."""

    def discard(self) -> None:
        """Give up what was staged; the kept state stays as it was."""


@dataclass(frozen=True)
class SinkSpec:
    """One output of a run: a format and a path (None or '-' for stdout)."""

    fmt: OutputFormat
    path: str | None = None
    flag: str = "--output"  # the option that named it, for messages


@dataclass(frozen=True)
class Plan:
    """What a run does besides finding objects: how to classify and where findings go."""

    command: str
    scope: Mapping[str, Any]
    as_of: datetime
    horizon_days: int
    fail_on: frozenset[Any]
    sinks: Sequence[SinkSpec]
    render: RenderOptions
    keep_raw: bool = False  # detail views show every field of the object
    rules: Ruleset | None = None  # institution rules (None: --no-rules)
    events: bool = False  # the input may hold Events: report each object once (latest)
    group_by: GroupBy = GroupBy.CUSTOMER
    stripe_account: str | None = None  # --stripe-account: Dashboard links point into it
    contact: bool = False  # --contact: groups carry customers' names and emails
    fail_on_change: frozenset[Change] | None = None
    baseline: tuple[str, SavedReport] | None = None  # --baseline FILE, read and checked
    ignore: tuple[Entry, ...] = ()  # --ignore FILE
    # --state: makes the history stage (since when each finding is in its category).
    history: Callable[[], Stage] | None = None
    stale_after: timedelta = DEFAULT_STALE_AFTER  # --stale-after: refresh_stale


class _Sink:
    def __init__(self, spec: SinkSpec, stdout: Any, render: RenderOptions) -> None:
        self.target = OutputTarget(spec.path, stdout=stdout, flag=spec.flag)
        self.fmt = resolve_format(
            spec.fmt, stdout_is_tty=self.target.stream.isatty(), to_file=self.target.is_file
        )
        if self.target.path is None:
            prepare_stdout(self.target.stream, terminal=self.fmt is OutputFormat.TABLE)
        options = render
        if self.fmt is not OutputFormat.TABLE and render.detail:
            options = dataclasses.replace(render, detail=False)
        self.renderer = get_renderer(self.fmt, self.target.stream, options)

    def abandon(self) -> None:
        """A run that stopped on an error: what a streaming renderer has buffered is still
        written (stdout, a device or a pipe get every line made; a file's temporary copy is
        then discarded by its target, as before)."""
        drain = getattr(self.renderer, "drain", None)
        if drain is not None:
            with contextlib.suppress(OSError, ValueError):
                drain()


class Pipeline:
    """One run of a plan against a source."""

    def __init__(self, app: AppContext, plan: Plan) -> None:
        self.app = app
        self.plan = plan
        self.result = ScanResult(per_stripe_account="connected_accounts" in plan.scope)
        self._stages: list[Stage] = []  # built by run(), once the source is known
        self.result.contact = plan.contact
        self._lock = threading.Lock()
        self._sinks: list[_Sink] = []
        # Bound once: every finding goes through these.
        self._steps: list[Callable[[Finding], Iterable[Finding]]] = []
        self._writes: list[Callable[[Finding], None]] = []
        self._source: Source | None = None

    def _shows_groups(self) -> bool:
        return any(
            spec.fmt in WITH_GROUPS or spec.fmt is OutputFormat.AUTO for spec in self.plan.sinks
        )

    def _build_stages(self, source: Source) -> list[Stage]:
        plan = self.plan
        baseline = None
        if plan.baseline is not None:
            source_name, report = plan.baseline
            info = baseline_info(report, source_name, scope=plan.scope, mode=source.mode)
            for warning in info.warnings:
                self.app.warn(f"--baseline {source_name}: {warning}.")
            baseline = BaselineDiff(info, plan.as_of)
        # Order matters: the latest snapshot is chosen before relink counts are made, the
        # change is known before the exit policy looks at it, and suppressed findings are
        # set aside before grouping.
        return [
            *([LatestSnapshot()] if plan.events else []),
            *([plan.history()] if plan.history is not None else []),
            RelinkCount(),
            *([baseline] if baseline else []),
            *([Suppress(plan.ignore, plan.as_of.date())] if plan.ignore else []),
            # Groups are for the formats that show them: an NDJSON run stays in flat memory.
            *([Grouping(plan.group_by)] if self._shows_groups() else []),
            Tally(self.result, Policy(plan.fail_on, plan.fail_on_change)),
        ]

    # -- the flow --------------------------------------------------------------------------

    def emit(self, item: Observed) -> None:
        """Classify one object and pass it on. Thread-safe. OSError from a sink propagates."""
        if item.finding is not None:  # already classified (fcaudit diff reads a report)
            with self._lock:
                if not self.result.interrupted:
                    self._through(item.finding, 0)
            return
        try:
            finding = classify(
                item.obj,
                now=self.plan.as_of,
                horizon_days=self.plan.horizon_days,
                stripe_version=item.stripe_version,
                accounts=item.accounts,
                rules=self.plan.rules,
                request_id=item.request_id,
                stripe_account=item.stripe_account or self.plan.stripe_account,
                stale_after=self.plan.stale_after,
            )
        except NotClassifiable as err:
            assert self._source is not None
            entry = self._source.rejected(item, err)
            with self._lock:
                self.result.errors.append(entry)
            return
        # The finding was just built and nothing else holds it yet: it is completed in place
        # (a dataclasses.replace copy costs as much as the classification).
        if item.event is not None:
            event = item.event
            finding.event_type = event.type
            finding.event_created = event.created
            finding.event_id = event.id
            finding.pending_webhooks = event.pending_webhooks
            finding.undelivered = event.undelivered
        if item.note:
            finding.detail = f"{finding.detail}; {item.note}" if finding.detail else item.note
        if self.plan.keep_raw:
            finding.raw = item.obj
        with self._lock:
            if self.result.interrupted:
                return  # the report is being written; late arrivals are dropped
            self._through(finding, 0)

    def _through(self, finding: Finding, start: int) -> None:
        batch: Sequence[Finding] = (finding,)
        for step in self._steps[start:] if start else self._steps:
            if len(batch) == 1:  # the common case: one finding in, its tuple out
                out = step(batch[0])
                batch = out if isinstance(out, tuple) else tuple(out)
            else:
                batch = [out for f in batch for out in step(f)]
            if not batch:
                return
        for f in batch:
            for write in self._writes:
                write(f)

    def run(
        self,
        source: Source,
        progress: Callable[[ScanResult], AbstractContextManager[None]] | None = None,
        keeper: Keeper | None = None,
    ) -> ExitCode:
        """Run the source through classification and the stages into every sink; the run's exit
        code."""
        self._source = source
        self._stages = self._build_stages(source)
        self._steps = [stage.finding for stage in self._stages]
        with contextlib.ExitStack() as stack:
            for spec in self.plan.sinks:
                sink = _Sink(spec, self.app.out, self.plan.render)
                stack.callback(sink.target.discard)  # a no-op once committed
                stack.callback(sink.abandon)  # so is this
                self._sinks.append(sink)
                self._writes.append(sink.renderer.finding)
            outcome = SourceOutcome()
            try:
                with progress(self.result) if progress else contextlib.nullcontext():
                    outcome = source.run(self.emit)
            except KeyboardInterrupt:
                outcome.interrupted = True
            with self._lock:
                self.result.interrupted = self.result.interrupted or outcome.interrupted
                self.result.errors.extend(outcome.errors)
                self.result.events_skipped += outcome.events_skipped
                self.result.contacts.update(outcome.contacts)
                self.result.stripe_accounts = outcome.stripe_accounts
                self.result.scope_learned = outcome.scope
                # Completion order varies run to run; a stable order keeps reports diffable.
                self.result.errors.sort(
                    key=lambda e: (str(e.scope.type), e.scope.id or "", e.message)
                )
            with deferred_signals():
                for i, stage in enumerate(self._stages):
                    for f in stage.finish(self.result):
                        self._through(f, i + 1)
                code = self._decide()
                meta = self._meta(source)
                self._commit(meta, keeper)
        self._report_on_stderr()
        return code

    def _decide(self) -> ExitCode:
        """The exit code, decided before the report is written so the report can say it.
        `result.matched` was counted by the tally, finding by finding (policy.Policy)."""
        result = self.result
        code = exit_code(
            result.matched, incomplete=bool(result.errors), interrupted=result.interrupted
        )
        result.exit_code = int(code)
        return code

    # -- the end of the run ----------------------------------------------------------------

    def _meta(self, source: Source) -> ReportMeta:
        from fcaudit import __version__

        return ReportMeta(
            command=self.plan.command,
            generated_at=self.app.clock(),
            as_of=self.plan.as_of,
            horizon_days=self.plan.horizon_days,
            fail_on=sorted(self.plan.fail_on),
            scope={**self.plan.scope, **self.result.scope_learned},
            tool_version=__version__,
            stripe_version=source.stripe_version,
            mode=source.mode,
            stats=source.stats(),
        )

    def _commit(self, meta: ReportMeta, keeper: Keeper | None) -> None:
        """Finish every sink, each on its own: one that fails leaves the others written.

        With a keeper (the --state store), the new store is staged after the reports are
        written and before any of them replaces an earlier one: a store that can't be
        written leaves every report as it was. It is published only when every report was
        written, so the next run's baseline is never a run whose report was lost."""
        failure: OSError | None = None
        finished: list[_Sink] = []
        for sink in self._sinks:
            try:
                sink.renderer.finish(self.result, meta)
                finished.append(sink)
            except OSError as err:
                sink.target.discard()
                failure = failure or err
        if keeper is not None and failure is None:
            try:
                keeper.stage(self.result)
            except BaseException:
                for sink in finished:
                    sink.target.discard()
                keeper.discard()
                raise
        for sink in finished:
            try:
                sink.target.commit()
            except OSError as err:
                sink.target.discard()
                failure = failure or err
        if keeper is not None:
            if failure is None:
                keeper.publish()
            else:
                keeper.discard()
        if failure is not None:
            raise failure

    def _report_on_stderr(self) -> None:
        errors = self.result.errors
        for e in errors[:MAX_ERRORS_SHOWN]:
            rid = f" [{e.request_id}]" if e.request_id else ""
            self.app.error(
                f"{e.scope.label()}: {e.message}{rid}{f'. Tip: {e.tip}.' if e.tip else ''}"
            )
        if len(errors) > MAX_ERRORS_SHOWN:
            more = plural(len(errors) - MAX_ERRORS_SHOWN, "more failed scope")
            self.app.error(f"... and {more} in the report's errors[].")
        for entry in self.result.expired_suppressions:
            self.app.warn(
                f"--ignore line {entry['line']}: the entry for {entry['id']} expired on "
                f"{entry['until']} and no longer suppresses anything."
            )
        for entry in self.result.unmatched_suppressions:
            self.app.warn(
                f"--ignore line {entry['line']}: the entry for {entry['id']} matched nothing."
            )
        line = f"fcaudit: {summary_text(self.result)}"
        if self.result.interrupted:
            line += "; interrupted, report incomplete"
        elif errors:
            line += f"; {plural(len(errors), 'scope')} failed, report incomplete"
        written = [str(s.target.path) for s in self._sinks if s.target.path is not None]
        if written:
            line += f"; report written to {', '.join(safe(p) for p in written)}"
        self.app.info(line)
