"""The configuration file: defaults for command options, per installation (README
"Configuration file").

A TOML file found at `fcaudit --config FILE`, else FCAUDIT_CONFIG, else
`$XDG_CONFIG_HOME/fcaudit/config.toml` (`~/.config/...`) when it exists. Its keys are option
names, spelt as the long flag without its dashes (`--max-requests` -> `max_requests`): at the
top level they apply to every command that takes the option, and in a `[scan]` (`[events]`,
...) table to that command only, over the top level. They become click's `default_map`, so
the precedence is click's: the flag, then its environment variable, then this file, then the
built-in default. Nothing here names an option: a new option of any command is a key at once.

Every key is checked before the command runs, against what its flag accepts; a mistake is one
line naming the file, the line and the key (exit 2). Refused whatever their value: the API key
(a secret belongs in STRIPE_API_KEY, not in a file others may read or copy), what only one run
means (`PER_RUN`: its scope), and flags the command line could not turn off again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import click

from fcaudit.errors import UsageError
from fcaudit.text import safe

ENV = "FCAUDIT_CONFIG"
TIP = "see README 'Configuration file'."
SECRET = "api_key"
# What one run reads, not how an installation runs: a scan's scope, and a moment in time.
PER_RUN = frozenset(
    {"customer", "customers_from", "customer_account", "account_holder", "session", "as_of"}
)


def default_path() -> str:
    """`$XDG_CONFIG_HOME/fcaudit/config.toml`, or `~/.config/fcaudit/config.toml` when it is
    unset or not absolute (as the XDG Base Directory specification says)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "fcaudit", "config.toml")


def key_of(param: click.Parameter) -> str | None:
    """The config key of an option: its first long flag without dashes (`--max-requests` ->
    `max_requests`); None for arguments and hidden options."""
    if not isinstance(param, click.Option) or param.hidden:
        return None
    long = next((o for o in param.opts if o.startswith("--")), None)
    return long[2:].replace("-", "_") if long else None


def _options(command: click.Command) -> dict[str, click.Option]:
    """A command's options by config key."""
    found: dict[str, click.Option] = {}
    for param in command.params:
        key = key_of(param)
        if key is not None and isinstance(param, click.Option):
            found[key] = param
    return found


# Checks the command makes beyond click's type, by key: a config value is checked as the flag's
# would be, so its mistake names the file and the line. A key not listed here still has its
# click type checked (a range, a choice).
def _checks() -> dict[str, Callable[[Any], object]]:
    from fcaudit.cli.common import parse_metrics_labels
    from fcaudit.options import MIN_RPS, TIMEOUT_MAX, check_api_base, parse_duration
    from fcaudit.policy import parse_fail_on, parse_fail_on_change
    from fcaudit.stripe import ids as id_kinds

    def rps(value: float) -> None:
        if value != 0 and value < MIN_RPS:
            raise UsageError(f"must be 0 (unlimited) or at least {MIN_RPS:g} requests a second")

    def timeout(value: float) -> None:
        if value > TIMEOUT_MAX:
            raise UsageError(f"must be at most {TIMEOUT_MAX:g} seconds")

    def version(value: str) -> None:
        if not value.strip():
            raise UsageError("is empty; e.g. 2026-09-30.preview")

    return {
        "fail_on": parse_fail_on,
        "fail_on_change": parse_fail_on_change,
        "reconcile_every": lambda v: parse_duration(v, "reconcile_every"),
        "state_wait": lambda v: parse_duration(v, "state_wait"),
        "grace": lambda v: parse_duration(v, "grace"),
        "max_rps": rps,
        "max_endpoint_rps": rps,
        "timeout": timeout,
        "stripe_version": version,
        "stripe_account": lambda v: id_kinds.check_id(
            v, id_kinds.CONNECTED_ACCOUNT, "stripe_account"
        ),
        "api_base": check_api_base,
        "metrics_label": parse_metrics_labels,
    }


def _line_of(lines: list[str], table: str | None, key: str) -> int:
    """The 1-based line of `key` in `[table]` (or at the top level): where its mistake is."""
    current: str | None = None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(lines, start=1):
        found = header.match(line)
        if found:
            current = found.group(1).strip("\"'")
            if table is None and current == key:
                return number  # a table's own mistake: its header
        elif current == table and assignment.match(line):
            return number
    return 1


@dataclass
class Config:
    """A loaded file: its top-level keys and command tables, and where each key is."""

    path: str
    top: dict[str, Any]
    tables: dict[str, dict[str, Any]]
    lines: list[str]

    def fail(self, table: str | None, key: str, problem: str, tip: str = TIP) -> UsageError:
        """The one-line error of a key (in `[table]`, or at the top level)."""
        line = _line_of(self.lines, table, key)
        where = f"[{safe(table, limit=60)}] " if table else ""
        return UsageError(
            f"{safe(self.path)} line {line}: {where}key '{safe(key, limit=60)}': {problem}. "
            f"Tip: {tip}"
        )

    def fail_table(self, name: str, problem: str, tip: str) -> UsageError:
        """The one-line error of a `[name]` table."""
        line = _line_of(self.lines, None, name)
        return UsageError(
            f"{safe(self.path)} line {line}: table [{safe(name, limit=60)}]: {problem}. Tip: {tip}"
        )

    def defaults_for(self, name: str, command: click.Command) -> dict[str, Any]:
        """The command's default_map: the top-level keys it takes and its table, each checked
        as its flag would be, by click parameter name."""
        options = _options(command)
        merged: dict[str, tuple[str | None, Any]] = {
            k: (None, v) for k, v in self.top.items() if k in options
        }
        merged.update((k, (name, v)) for k, v in self.tables.get(name, {}).items())
        ctx = click.Context(command, info_name=name)
        checks = _checks()
        defaults: dict[str, Any] = {}
        for key, (table, value) in merged.items():
            param = options.get(key)
            if param is None:
                raise self.fail(table, key, f"fcaudit {name} has no option --{_flag(key)}")
            _refuse(self, table, key, param)
            # A top-level key is for every command with the option, whose flags may differ
            # (`format`: doctor writes a table or JSON only): the error names the command.
            of = "" if table else f" (for fcaudit {name}'s --{_flag(key)})"
            tip = (
                TIP
                if table
                else "correct the value; a top-level key applies to every command with the "
                "option, so a value only some of them take belongs in their table ([scan], "
                "[events], ...)."
            )
            problem = _type_problem(param, value)
            if problem:
                raise self.fail(table, key, problem + of, tip)
            try:
                converted = param.type_cast_value(ctx, value)
                if key in checks:
                    checks[key](value)
            except click.BadParameter as err:
                raise self.fail(table, key, _strip(err.message) + of, tip) from None
            except UsageError as err:  # the flag's own check: its problem, and its tip
                problem, _, tip = str(err).partition(" Tip: ")
                raise self.fail(table, key, _strip(problem), tip or TIP) from None
            assert param.name is not None
            defaults[param.name] = list(converted) if param.multiple else converted
        return defaults


def _flag(key: str) -> str:
    return key.replace("_", "-")


def _strip(message: str) -> str:
    return message.rstrip(". ")


def _refuse(config: Config, table: str | None, key: str, param: click.Option) -> None:
    if key == SECRET:
        raise config.fail(
            table,
            key,
            "the API key is never read from a file (it could be read or copied with it)",
            "set STRIPE_API_KEY in the environment, and remove the line.",
        )
    if key in PER_RUN:
        raise config.fail(
            table,
            key,
            f"--{_flag(key)} says what one run reads, not how every run goes",
            f"give --{_flag(key)} on the command line.",
        )
    if param.is_flag and not param.secondary_opts:
        raise config.fail(
            table,
            key,
            f"--{_flag(key)} is a flag the command line could not turn off again",
            f"give --{_flag(key)} on the command line.",
        )


def _type_problem(param: click.Option, value: Any) -> str | None:
    """What is wrong with a TOML value's type for this option, or None."""
    if param.multiple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "expected a list of strings (the flag is repeatable)"
        return None
    kind = param.type
    if param.is_flag or isinstance(kind, click.types.BoolParamType):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(value, bool):
        return f"expected {_expected(kind)}, not {str(value).lower()}"
    if isinstance(kind, click.types.IntParamType):
        return None if isinstance(value, int) else f"expected {_expected(kind)}"
    if isinstance(kind, click.types.FloatParamType):
        return None if isinstance(value, int | float) else f"expected {_expected(kind)}"
    return None if isinstance(value, str) else f"expected {_expected(kind)}"


def _expected(kind: object) -> str:
    if isinstance(kind, click.types.IntParamType):
        return "a whole number"
    if isinstance(kind, click.types.FloatParamType):
        return "a number"
    return "a string"


class Defaults(dict[str, Any]):
    """The group's default_map: each command's defaults, computed and checked when click
    makes the command's context (so a lazily imported command is imported only when run)."""

    def __init__(self, config: Config, group: click.Group, ctx: click.Context) -> None:
        super().__init__()
        self.config = config
        self._group = group
        self._ctx = ctx

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self:
            command = self._group.get_command(self._ctx, name)
            if command is None or isinstance(command, click.Group):
                return default
            self[name] = self.config.defaults_for(name, command)
        return dict.get(self, name, default)


def find(given: str | None, from_env: bool) -> tuple[str | None, str]:
    """The file to read (None: none) and how it was named, for messages: `--config`,
    FCAUDIT_CONFIG, or the default path (read only when it exists)."""
    if given is not None:
        return given, ENV if from_env else "--config"
    path = default_path()
    return (path if os.path.exists(path) else None), "config file"


def load(
    path: str, named: str, group: click.Group, ctx: click.Context, lazy: Collection[str] = ()
) -> Defaults:
    """Read a config file and check it: its layout, every key's name, and every value for
    each command loaded at start and each command with a table (a `lazy` command without a
    table, imported only when used, is checked when it runs)."""
    from fcaudit import tomlfile

    if not path.strip():
        raise UsageError(f"{named} is empty. Tip: name a file, or unset it.")
    text = tomlfile.read(path, named)
    doc = tomlfile.parse(text, path, TIP)
    top = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    config = Config(path, top, tables, text.splitlines())
    defaults = Defaults(config, group, ctx)
    for name, table in tables.items():
        command = group.get_command(ctx, name)
        if command is None:
            raise config.fail_table(
                name, "no such command", "a table is named after a command: [scan], [events], ..."
            )
        if isinstance(command, click.Group) or not _options(command):
            raise config.fail_table(
                name, f"fcaudit {name} takes no options from this file", "remove the table."
            )
        inner = next((k for k, v in table.items() if isinstance(v, dict)), None)
        if inner is not None:
            raise config.fail(name, inner, "a table inside a command's table")
    # The commands loaded at start (not `lazy`, whether or not this process imported one
    # since): what is checked does not depend on what ran before.
    eager = [n for n in group.commands if n not in lazy]
    commands = _commands(group, ctx, eager)
    for key in top:
        if not any(key in _options(c) for c in commands.values()):
            commands = _commands(group, ctx, group.list_commands(ctx))
            if not any(key in _options(c) for c in commands.values()):
                raise config.fail(None, key, "no command has this option", _suggest(key, commands))
    for name in [*eager, *tables]:
        defaults.get(name)
    return defaults


def _commands(group: click.Group, ctx: click.Context, names: Iterable[str]) -> dict[str, Any]:
    found = {n: group.get_command(ctx, n) for n in names}
    return {n: c for n, c in found.items() if c is not None and not isinstance(c, click.Group)}


def _suggest(key: str, commands: Mapping[str, click.Command]) -> str:
    import difflib

    known = sorted({k for c in commands.values() for k in _options(c)})
    close = difflib.get_close_matches(key.replace("-", "_"), known, n=1)
    if close:
        return f"did you mean '{close[0]}'? A key is a long flag without its dashes, _ for -."
    return "a key is a long flag without its dashes, with _ for - (max_requests)."


META = "fcaudit.config"  # ctx.meta: the config file this run read (None: none), for doctor


def used() -> str | None:
    """The config file this run read, or None."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(META) if ctx is not None else None
