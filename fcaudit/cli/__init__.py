"""The command line: the click group, and the one place an error or an ExitCode becomes the
process's exit. Each command lives in its own module and is wiring only: flags -> source ->
pipeline."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from fcaudit import __version__
from fcaudit.cli.classify import classify
from fcaudit.cli.diff import diff
from fcaudit.cli.events import events
from fcaudit.cli.retrieve import account, authorization
from fcaudit.cli.scan import scan
from fcaudit.errors import ExitCode, FcauditError
from fcaudit.text import safe

# Flags people type from habit (jq, kubectl, gh) and the option that does it here.
_HABITS = {"--json": "--format json", "--ndjson": "--format ndjson", "--table": "--format table"}


# Commands imported only when used: `fcaudit --help` lists them with this text. The
# sandbox's module brings an HTTP server and its data generator (half of the start-up).
LAZY_COMMANDS = {
    "sandbox": (
        "fcaudit.sandbox.cli",
        "sandbox",
        "A local Stripe-compatible server with deterministic test data.",
    ),
    "doctor": (
        "fcaudit.cli.doctor",
        "doctor",
        "Check what a first run needs, with a handful of GET requests.",
    ),
    "listen": (
        "fcaudit.cli.listen",
        "listen",
        "Receive Stripe's webhooks: each category change is one NDJSON line on stdout at once.",
    ),
    "webhooks": (
        "fcaudit.cli.webhooks",
        "webhooks",
        "Check that the FC webhook events reach an enabled destination, with status_details.",
    ),
    "history": (
        "fcaudit.cli.history",
        "history",
        "Every category change of an account, authorization or customer (--state).",
    ),
    "trend": (
        "fcaudit.cli.history",
        "trend",
        "Per day: accounts broken, new breaks, repairs, time to repair (--state).",
    ),
    "state": (
        "fcaudit.cli.state",
        "state",
        "Inspect the store of incremental runs (scan --state FILE).",
    ),
}


class FcauditGroup(click.Group):
    """Turns every error into one line on stderr and a documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order `fcaudit --help` lists them."""
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command by name, importing a lazily loaded one only when it is used."""
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attr, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands in --help without importing the lazy ones."""
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Run click, turning every fcaudit error into a one-line message and its exit code."""
        # click prints usage errors as Usage/Try/blank/Error; cron mail and log lines want
        # one line that names the problem and the fix.
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as err:
            # `fcaudit` or `fcaudit sandbox` alone: the help, as `--help` prints it.
            click.echo(err.ctx.get_help())
            sys.exit(int(ExitCode.OK))
        except click.NoSuchOption as err:
            argv = args[0] if args else kwargs.get("args")
            typed = list(argv) if argv is not None else sys.argv[1:]
            _fail(_no_such_option(err, typed), ExitCode.USAGE)
        except click.UsageError as err:
            message = err.format_message()
            if "Tip:" not in message:  # the message may carry its own, better tip
                message += f" Tip: see '{_where(err, args, kwargs)} --help'."
            _fail(message, ExitCode.USAGE)
        except click.ClickException as err:
            _fail(err.format_message(), ExitCode(err.exit_code))
        except click.exceptions.Abort:
            _fail("interrupted.", ExitCode.INTERRUPTED)
        sys.exit(int(code) if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Invoke the command; a returned ExitCode becomes the process's exit status."""
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
                f"cannot write the report: {err.strerror or err}. Tip: {write_tip(err)}; an "
                "existing --output file is left untouched.",
                ExitCode.API,
            )


# What to do when writing the report failed, by the error's errno: "free disk space" is only
# true of a full disk.
_WRITE_TIPS = {
    errno.ENOSPC: "free disk space, or choose another output",
    errno.EDQUOT: "free space within your disk quota, or choose another output",
    errno.EFBIG: "raise the file-size limit (ulimit -f), or choose another output",
    errno.EACCES: "check the permissions of the output and its directory",
    errno.EPERM: "check the permissions of the output and its directory",
    errno.EROFS: "the file system is read-only: choose another output",
    errno.EISDIR: "name a file, not a directory",
    errno.EIO: "check the disk's health, or choose another output",
}


def write_tip(err: OSError) -> str:
    """The fix for a report that could not be written."""
    return _WRITE_TIPS.get(err.errno or 0, "choose another output")


def _where(err: click.UsageError, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The command the user ran (`fcaudit scan`), for the help tip."""
    if err.ctx is not None and err.ctx.command_path != "fcaudit":
        return err.ctx.command_path
    argv = args[0] if args else kwargs.get("args")
    typed = list(argv) if argv is not None else sys.argv[1:]
    command = next((w for w in typed if w in cli.commands), None)
    return f"fcaudit {command}" if command else "fcaudit"


def _no_such_option(err: click.NoSuchOption, typed: list[str]) -> str:
    name = err.option_name
    message = f"no such option: {name}."
    if name in _HABITS:
        return f"{message} Tip: use {_HABITS[name]}."
    ctx = err.ctx
    if ctx is not None and isinstance(ctx.command, click.Group):
        # `fcaudit --sandbox scan`: the option exists, but belongs after the command name.
        owners = [
            cmd_name
            for cmd_name in ctx.command.list_commands(ctx)
            if _takes_option(ctx.command.get_command(ctx, cmd_name), name)
        ]
        if owners:
            # The command the user typed, if it takes the option; else the first that does.
            command = next((word for word in typed if word in owners), owners[0])
            return (
                f"{message} Options go after the command name. Tip: "
                f"{ctx.command_path} {command} {name} ..."
            )
    where = ctx.command_path if ctx else "fcaudit"
    if name == "--config":
        # The one option of the group itself: it is read before the command's defaults.
        command = next((w for w in typed if w in cli.commands or w in LAZY_COMMANDS), "")
        return (
            f"{message} --config goes before the command name. Tip: fcaudit --config FILE "
            f"{command} ... (or set FCAUDIT_CONFIG)."
        )
    if err.possibilities:
        options = ", ".join(sorted(err.possibilities))
        return f"{message} Did you mean {options}? Tip: see '{where} --help'."
    return f"{message} Tip: see '{where} --help'."


def _takes_option(command: click.Command | None, name: str) -> bool:
    if command is None:
        return False
    return any(name in p.opts or name in p.secondary_opts for p in command.params)


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"Error: {safe(message)}", err=True)
    sys.exit(int(code))


def _closed_stdout() -> NoReturn:
    """The reader went away (`| head`): stop quietly, like a process killed by SIGPIPE."""
    # Point fd 1 at /dev/null so the interpreter's final flush can't fail again.
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name="fcaudit", cls=FcauditGroup, context_settings=CONTEXT)
@click.version_option(version=__version__, prog_name="fcaudit")
@click.option(
    "--config",
    "config_path",
    envvar="FCAUDIT_CONFIG",
    show_envvar=True,
    metavar="FILE",
    help="Defaults for the commands' options (TOML; README 'Configuration file'). Default: "
    "$XDG_CONFIG_HOME/fcaudit/config.toml (~/.config/...) when it exists.",
)
def cli(config_path: str | None) -> None:
    """Audit Stripe Financial Connections accounts: find bank links that are broken or about
    to break, and say what to do about each.

    The key comes from STRIPE_API_KEY (or --api-key). fcaudit only ever sends GET requests.
    Exit codes: 0 clean, 1 findings matched --fail-on, 2 usage or input error, 3
    authentication or permission error, 4 an API error stopped the run, 5 incomplete (some
    scopes failed), 130 interrupted.

    \b
    Examples:
      fcaudit scan --sandbox                      # try it: embedded test data, no key
      fcaudit scan                                # every FC account of the Stripe account
      fcaudit scan --format ndjson | jq -r 'select(.category=="relink_required") | .id'
      fcaudit scan -q -o /var/lib/fcaudit/report.json || alert "fcaudit exit $?"
      fcaudit account fca_123 fca_456
      fcaudit classify webhook-event.json
      fcaudit scan -q -o today.json --baseline yesterday.json --fail-on-change new,worse
      fcaudit diff yesterday.json today.json
      fcaudit --config /dev/null scan -q -o report.json   # set ~/.config/fcaudit/config.toml aside
    """
    from fcaudit.cli import config

    ctx = click.get_current_context()
    source = ctx.get_parameter_source("config_path")
    path, named = config.find(config_path, source is click.core.ParameterSource.ENVIRONMENT)
    ctx.meta[config.META] = os.path.abspath(path) if path else None
    if path is not None:
        ctx.default_map = config.load(path, named, cli, ctx, lazy=LAZY_COMMANDS)


for _command in (scan, account, authorization, classify, diff, events):
    cli.add_command(_command)


def main() -> None:
    """Run the click group (fcaudit.__main__ calls this once its signal set-up is done); Ctrl-C
    before a command has started is exit 130."""
    try:
        cli(prog_name="fcaudit")
    except KeyboardInterrupt:  # Ctrl-C before a command had started
        click.echo("Error: interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
