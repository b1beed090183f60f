"""`fcaudit state check FILE`: verify an incremental-run store and say how to go back."""

from __future__ import annotations

import click

from fcaudit.errors import ExitCode


@click.group()
def state() -> None:
    """Inspect the store of incremental runs (scan --state FILE).

    \b
    Examples:
      fcaudit state check fc.sqlite
    """


@state.command()
@click.argument("path", metavar="FILE")
def check(path: str) -> ExitCode:
    """Verify a --state store: SQLite's integrity check, the format, whose data it holds, and
    its counts; and the previous generation (FILE.prev) beside it.

    Exit 0 when FILE is sound; 2 when it is missing, unreadable or damaged (for a damaged
    store, the message says how to go back to FILE.prev when that one is sound); 4 when
    another program has it locked. The store is only read, never changed.

    \b
    Examples:
      fcaudit state check /var/lib/fcaudit/fc.sqlite
    """
    from fcaudit.model.findings import iso
    from fcaudit.sources.state_check import check_file
    from fcaudit.text import safe

    found = check_file(path)
    previous = check_file(f"{path}.prev")
    shown, prev = safe(path), safe(f"{path}.prev")
    if found.problem is None and found.header is not None:
        h = found.header
        kinds = ", ".join(f"{n} {safe(k)}" for k, n in sorted((found.kinds or {}).items()))
        click.echo(f"{shown}: sound.")
        click.echo(f"  holds: {safe(h.identity.account)} in {safe(h.identity.mode)} mode")
        click.echo(f"  objects: {h.objects}" + (f" ({kinds})" if kinds else ""))
        full = iso(h.last_full_run) if h.last_full_run else "never"
        click.echo(f"  last run: {iso(h.last_run) if h.last_run else '?'}; last full run: {full}")
        state_of_prev = "sound" if previous.problem is None else safe(previous.problem)
        click.echo(f"  previous generation {prev}: {state_of_prev}")
        return ExitCode.OK
    if found.problem == "no such file":
        click.echo(
            f"Error: {shown}: no such file. Tip: check the path; the first complete "
            f"'fcaudit scan --state {shown}' creates the store.",
            err=True,
        )
        return ExitCode.USAGE
    if found.locked:
        click.echo(
            f"Error: {shown} {safe(found.problem or '')}; it is not damaged. Tip: close the "
            "program that has it open (an sqlite3 shell?), then check again.",
            err=True,
        )
        return ExitCode.API
    if not found.damaged:
        click.echo(
            f"Error: {shown} {safe(found.problem or 'cannot be read')}. Tip: check that this "
            "user may read it (and its directory); nothing says it is damaged.",
            err=True,
        )
        return ExitCode.USAGE
    if previous.problem is None:
        tip = (
            f"{prev} (the store before the last run) is sound: 'cp {prev} {shown}' goes back "
            "to it, and the next run reads the events since that run"
        )
    else:
        tip = (
            f"{prev} is not usable either ({safe(previous.problem)}): move {shown} away and "
            "the next run starts afresh with a full run"
        )
    problem = safe(found.problem or "unreadable")
    click.echo(f"Error: {shown}: {problem}. Tip: {tip}.", err=True)
    return ExitCode.USAGE
