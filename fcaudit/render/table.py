"""The terminal table: a worklist, one line per account under its group, headline first.

Names from the API are untrusted: shown literally via `safe()`, cut to the column with an
ellipsis. Ids, dates and categories are never split across lines: when the terminal is too
narrow, columns are dropped (the display name first, then the cause) instead of wrapped.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import TextIO

from rich.console import Console
from rich.text import Text

from fcaudit.console import make_console
from fcaudit.model.ages import duration_words, in_words
from fcaudit.model.findings import Category, Change, Finding, SignalCode, iso
from fcaudit.model.report import (
    Group,
    GroupBy,
    ReportMeta,
    ScanResult,
    broken_text,
    plural,
    summary_parts,
)
from fcaudit.render.advice import advice
from fcaudit.render.base import RenderOptions, upcoming_by_week, write_all
from fcaudit.render.detail import STYLES, print_detail, relative
from fcaudit.text import safe

GAP = "  "
INDENT = "  "
MAX_INSTITUTION = 32
MAX_LABEL = 24
MAX_CAUSE = 24
MIN_INSTITUTION = 8
MAX_IDS_NAMED = 3  # advice that applies to some rows of a group names at most this many
# The first column with a baseline: how a row changed (`same` left blank), or `supp`.
MARKS = {Change.NEW: "new", Change.WORSE: "worse", Change.BETTER: "better"}
MARK_WIDTH = max(len(m) for m in MARKS.values())


def _date(f: Finding) -> str:
    """The deadline's day (an expected deactivation or account-number expiry), or ''."""
    return f.deadline.date().isoformat() if f.deadline is not None else ""


def _relative(f: Finding) -> str:
    """`in 5d`, `today`, `2d ago`: the deadline counted from the report's as-of day."""
    return relative(f) or ("number" if f.deadline is not None else "")


def _cell(value: str, width: int, style: str = "") -> Text:
    text = Text(safe(value), style=style)
    text.truncate(width, overflow="ellipsis", pad=True)
    return text


class _Layout:
    """Column widths for the rows of one report, fitted to the terminal width.

    The category, the id and the date are never cut. When the row does not fit, columns go
    in this order: the display name, the cause, the last four digits, the relative day count
    ("in 5d"), then the institution shrinks and finally goes too.
    """

    DROPS = ("name", "cause", "age", "last4", "relative")

    def __init__(self, rows: Sequence[Finding], width: int) -> None:
        def widest(values: Sequence[str], cap: int) -> int:
            """The widest value as shown (made safe), capped at `cap`."""
            return min(cap, max((len(safe(v)) for v in values), default=0))

        # With a baseline (or shown suppressions), a first column marks new and worse rows.
        self.marks = any(f.change is not None or f.suppressed is not None for f in rows)
        self.category = max(len(str(f.category)) for f in rows)
        self.id = max(len(safe(f.id)) for f in rows)
        self.widths = {
            "name": widest([f.display_name or "" for f in rows], MAX_LABEL),
            "cause": widest([f.cause or "-" for f in rows], MAX_CAUSE),
            "last4": 6 if any(f.last4 for f in rows) else 0,
            "relative": widest([_relative(f) for f in rows], 20),
            # --state: `broken for 12 days` (fcaudit.history.in_words)
            "age": widest([in_words(f) or "" for f in rows], 40),
        }
        self.shown = {name: bool(w) for name, w in self.widths.items()}
        institution = widest([f.institution_name or "-" for f in rows], MAX_INSTITUTION)
        for drop in (None, *self.DROPS):
            if drop is not None:
                self.shown[drop] = False
            if self._fixed() + MIN_INSTITUTION <= width:
                break
        room = width - self._fixed()
        self.institution = min(institution, room) if room >= 4 else 0

    def _date_width(self) -> int:
        return 10 + (self.widths["relative"] + 1 if self.shown["relative"] else 0)

    def _fixed(self) -> int:
        columns = [self.category, self.id, self._date_width()]
        columns += [self.widths[c] for c in ("name", "last4", "cause", "age") if self.shown[c]]
        width = len(INDENT) + sum(columns) + len(GAP) * len(columns)  # a gap before the name
        return width + (MARK_WIDTH + len(GAP) if self.marks else 0)

    def row(self, f: Finding) -> Text:
        """One finding's line of the worklist, in the columns that fit."""
        line = Text(INDENT)
        if self.marks:
            mark = MARKS.get(f.change, "") if f.change else ""
            if f.suppressed is not None:
                mark = "supp"
            line.append(_cell(mark, MARK_WIDTH, "bold"))
            line.append(GAP)
        parts = [
            _cell(str(f.category), self.category, STYLES[f.category]),
            _cell(f.id, self.id),
        ]
        if self.institution:
            parts.append(_cell(f.institution_name or "-", self.institution, "bold"))
        if self.shown["name"]:
            parts.append(_cell(f.display_name or "", self.widths["name"]))
        if self.shown["last4"]:
            parts.append(_cell(f"••{f.last4}" if f.last4 else "", 6))
        if self.shown["cause"]:
            parts.append(_cell(f.cause or "-", self.widths["cause"]))
        when = _date(f)
        relative_to = _relative(f) if self.shown["relative"] else ""
        if relative_to:
            when += " " + relative_to
        parts.append(_cell(when, self._date_width()))
        if self.shown["age"]:
            parts.append(_cell(in_words(f) or "", self.widths["age"], "dim"))
        line.append(Text(GAP).join(parts))
        line.rstrip()
        return line


class TableRenderer:
    """`-f table`: the worklist for a terminal (headline, grouped rows, summary, weekly
    chart), or with --detail every field of each object."""

    def __init__(self, stream: TextIO, options: RenderOptions) -> None:
        self._stream = stream
        self._options = options
        self._findings: list[Finding] = []
        self._suppressed = 0  # hidden (--show-suppressed lists them)

    def finding(self, finding: Finding) -> None:
        """Keep the finding for the sorted view; only count a suppressed one not listed."""
        if finding.suppressed is not None and not self._options.show_suppressed:
            self._suppressed += 1
            return
        self._findings.append(finding)

    def finish(self, result: ScanResult, meta: ReportMeta) -> None:
        """Print the view, through the pager when asked for and taller than the terminal."""
        self._findings.sort(key=Finding.sort_key)
        screen = make_console(self._stream, color=self._options.color, wide=True)
        if not (self._options.pager and self._stream.isatty()):
            self._render(screen, result, meta)
            return
        # Render once into a buffer the size of the terminal; page it only if it is taller.
        buffer = io.StringIO()
        paged = make_console(
            buffer, color=screen.color_system is not None, wide=True, width=screen.width
        )
        self._render(paged, result, meta)
        text = buffer.getvalue()
        if text.count("\n") < screen.height or not _page(text):
            write_all(self._stream, text)

    # -- the whole view ---------------------------------------------------------------------

    def _render(self, console: Console, result: ScanResult, meta: ReportMeta) -> None:
        if self._options.detail:
            for f in self._findings:
                print_detail(console, f)
            self._summary(console, result, meta)
            return
        self._headline(console, result, meta)
        self._worklist(console, result)
        self._resolved(console, result)
        self._summary(console, result, meta)
        self._chart(console, meta)

    def _headline(self, console: Console, result: ScanResult, meta: ReportMeta) -> None:
        attention = [
            f for f in self._findings if f.category is not Category.ACTIVE and f.suppressed is None
        ]
        line = Text()
        if not attention:
            line.append("Nothing needs attention", style="bold green")
        else:
            who = plural(len(result.holders_affected), "customer")
            line.append(f"{who} to contact", style="bold")
            verb = "needs" if len(attention) == 1 else "need"
            line.append(f", {plural(len(attention), 'finding')} {verb} attention: ")
            counts = Counter(f.category for f in attention)  # suppressed ones left out
            for i, c in enumerate(c for c in Category if counts.get(c)):
                line.append(", " if i else "")
                line.append(f"{counts[c]} {c}", style=STYLES[c])
        console.print(line)
        if result.baseline is not None:
            new, worse = result.by_change.get(Change.NEW, 0), result.by_change.get(Change.WORSE, 0)
            better = result.by_change.get(Change.BETTER, 0)
            console.print(
                Text(
                    f"Since the baseline ({safe(result.baseline.get('generated_at') or '?')}): "
                    f"{new} new, {worse} worse, {better} better, {len(result.resolved)} resolved"
                )
            )
        today = meta.as_of.date()
        upcoming = [
            (f.deadline, f)
            for f in attention
            if f.deadline is not None and f.deadline.date() >= today
        ]
        if upcoming:
            when, first = min(upcoming, key=lambda pair: (pair[0], pair[1].id))
            days = (when.date() - today).days
            console.print(
                Text(
                    f"Next deadline: {when.date().isoformat()} "
                    f"({'today' if days == 0 else 'in ' + plural(days, 'day')}), "
                    f"{safe(first.id)} ({first.category})"
                )
            )
        console.print()

    # -- the worklist -----------------------------------------------------------------------

    def _worklist(self, console: Console, result: ScanResult) -> None:
        by_id = {f.id: f for f in self._findings}
        shown = [f for f in self._findings if self._options.show_active or f.category != "active"]
        if not shown:
            return
        layout = _Layout(shown, console.width)
        if result.group_by is GroupBy.NONE or not result.groups:
            self._rows(console, layout, shown)
            return
        listed: set[str] = set()
        for group in result.groups:
            members = [by_id[i] for i in group.finding_ids if i in by_id]
            rows = [f for f in members if self._options.show_active or f.category != "active"]
            listed.update(group.finding_ids)
            self._group_header(console, group)
            self._rows(console, layout, rows)
            console.print()
        # --show-active / --show-suppressed: what is in no group needing attention.
        rest = [f for f in shown if f.id not in listed]
        if rest:
            console.print(
                Text(f"Nothing to do ({plural(len(rest), 'finding')}, active or suppressed)")
            )
            self._rows(console, layout, rest)
            console.print()

    def _group_header(self, console: Console, group: Group) -> None:
        head = Text()
        head.append(safe(group.key), style="bold")
        if group.holder_type:
            head.append(f"  {group.holder_type}", style="dim")
        if group.contact is not None:
            who = " ".join(safe(x) for x in (group.contact.name, group.contact.email) if x)
            head.append(f"  {who}")
        head.append("  ")
        head.append(str(group.worst), style=STYLES[group.worst])
        head.append(f"  {plural(group.accounts, 'account')}")
        if group.deadline is not None:
            head.append(f"  by {group.deadline.date().isoformat()}")
        console.print(head, soft_wrap=True)
        if group.relink_authorizations:
            auths = ", ".join(safe(a) for a in group.relink_authorizations)
            line = Text(f"one relink repairs several accounts: {auths}")
            # Wrapped, each line keeps the indent, under the header it belongs to.
            for part in line.wrap(console, max(20, console.width - len(INDENT))):
                part.rstrip()
                console.print(Text(INDENT) + part, soft_wrap=True)
        if group.dashboard_url:
            console.print(Text(f"{INDENT}{safe(group.dashboard_url)}", style="dim"), soft_wrap=True)

    def _rows(self, console: Console, layout: _Layout, rows: Sequence[Finding]) -> None:
        for f in rows:
            console.print(layout.row(f), soft_wrap=True)
        # Advice once per group where rows share it; otherwise once per distinct advice.
        shared: dict[str, list[Finding]] = {}
        for f in rows:
            if f.category is not Category.ACTIVE:
                shared.setdefault(f.recommendation, []).append(f)
        for same in shared.values():
            line = Text("→ ", style="bold")
            if len(shared) > 1:
                named = ", ".join(safe(x.id) for x in same[:MAX_IDS_NAMED])
                more = len(same) - MAX_IDS_NAMED
                line.append(f"{named}{f' and {more} more' if more > 0 else ''}: ", style="dim")
            # Whole, its names shortened (render/advice.py): the instruction is at the end.
            line.append(safe(advice(same[0]), limit=None))
            # Wrapped advice keeps its indent, under the rows it is about.
            for part in line.wrap(console, max(20, console.width - len(INDENT))):
                part.rstrip()
                console.print(Text(INDENT) + part, soft_wrap=True)

    def _resolved(self, console: Console, result: ScanResult) -> None:
        if not result.resolved:
            return
        console.print(Text(f"Resolved since the baseline ({len(result.resolved)}):", style="bold"))
        for entry in result.resolved:
            line = Text(f"{INDENT}{safe(entry['id'])}  {entry['old_category']} → ")
            line.append(entry["new_category"], style="green")
            took = entry.get("time_to_repair")
            if isinstance(took, int):
                line.append(f"  repaired after {duration_words(took)}")
            console.print(line, soft_wrap=True)
        console.print()

    # -- the end ----------------------------------------------------------------------------

    def _summary(self, console: Console, result: ScanResult, meta: ReportMeta) -> None:
        head, counts = summary_parts(result)
        line = Text(f"Summary: {head}")
        for i, (c, n) in enumerate(counts):
            line.append(": " if i == 0 else ", ")
            line.append(f"{n} {c}", style=STYLES[c])
        if not counts:
            line.append(" (nothing found)")
        console.print(line)
        hidden = result.counts.get(Category.ACTIVE, 0)
        if hidden and not self._options.show_active and not self._options.detail:
            console.print(
                Text(f"{plural(hidden, 'active finding')} not listed; --show-active lists them.")
            )
        if self._suppressed:
            console.print(
                Text(
                    f"{plural(self._suppressed, 'suppressed finding')} not listed (--ignore); "
                    "--show-suppressed lists them."
                )
            )
        broken = broken_text(result)
        if broken:
            console.print(Text(broken))
        if result.pending:
            console.print(
                Text(
                    f"{plural(result.pending, 'newly broken finding')} pending (--min-age): "
                    "listed, not counted for --fail-on yet."
                )
            )
        if result.baseline is not None:
            changes = ", ".join(f"{n} {c}" for c, n in result.by_change.items() if n)
            console.print(Text(f"Against the baseline: {changes or 'nothing'}."))
        signals = [(c, result.by_signal[c]) for c in SignalCode if result.by_signal.get(c)]
        if signals:
            console.print(Text("Signals: " + ", ".join(f"{n} {c}" for c, n in signals)))
        if result.by_institution:
            top = result.by_institution.most_common()
            console.print(
                Text(
                    "Needing attention by institution: "
                    + ", ".join(f"{safe(name)} {n}" for name, n in top)
                )
            )
        console.print(
            Text(
                f"As of {iso(meta.as_of)}, horizon {plural(meta.horizon_days, 'day')}, "
                f"Stripe-Version {meta.stripe_version or '(offline)'}."
            ),
            style="dim",
        )

    def _chart(self, console: Console, meta: ReportMeta) -> None:
        weeks = upcoming_by_week(self._findings, meta.as_of)
        if not any(weeks):
            console.print(Text(f"No deactivations expected in the next {len(weeks)} weeks."))
            return
        console.print(Text(f"Upcoming deactivations per week (next {len(weeks)} weeks, accounts):"))
        peak = max(weeks)
        room = max(0, min(50, console.width - len(INDENT) - 16))
        start = meta.as_of.date()
        for i, n in enumerate(weeks):
            week = (start + timedelta(days=7 * i)).isoformat()
            line = Text(f"{INDENT}{week} {n:>4}")
            if room and n:  # a narrow terminal gets the numbers alone
                line.append(" " + "█" * max(1, round(n / peak * room)), style="yellow")
            console.print(line, soft_wrap=True)


def _page(text: str) -> bool:
    """Send `text` through the pager; False when no pager could be started."""
    command = os.environ.get("FCAUDIT_PAGER") or os.environ.get("PAGER") or "less -R"
    argv = shlex.split(command)
    if not argv or shutil.which(argv[0]) is None:
        return False
    # Ctrl-C in the pager is the pager's (less uses it to stop a search): the run is over, and
    # fcaudit must not turn a finished report into "interrupted" (git does the same).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        with subprocess.Popen(argv, stdin=subprocess.PIPE, text=True, encoding="utf-8") as pager:
            assert pager.stdin is not None
            try:
                pager.stdin.write(text)
                pager.stdin.close()
            except BrokenPipeError:
                pass  # the user quit the pager early
            pager.wait()
    except OSError:
        return False
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return True
