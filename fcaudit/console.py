"""Rich consoles that treat all text as data: no markup, no emoji codes, no highlighting."""

from __future__ import annotations

import os
from typing import TextIO

from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 here ("findings" in our contract); let the CLI map it to 141.
        self.quiet = True
        raise BrokenPipeError


def make_console(
    stream: TextIO, *, color: bool | None, wide: bool = False, width: int | None = None
) -> Console:
    """A console that never interprets markup, emoji codes or highlighting in data.

    `color`: None = colour on a terminal unless NO_COLOR is set (rich reads it); True =
    always, even on a pipe (like `ls --color=always`); False = never. `wide` gives files and
    pipes a 160-column table unless COLUMNS says otherwise.
    """
    is_tty = stream.isatty()
    return _Console(
        file=stream,
        width=width or (160 if wide and not is_tty and not os.environ.get("COLUMNS") else None),
        markup=False,
        highlight=False,
        emoji=False,
        no_color=None if color is None else not color,  # --color beats NO_COLOR
        force_terminal=True if color else None,
        color_system=None if color is False else "auto",
        soft_wrap=not wide,
    )
