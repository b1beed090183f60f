"""Renderers: one per output format, chosen from one registry.

Each renderer lives in its own module, imported only when its format is used, so `--help` and
the JSON formats never load rich. Renderers import `fcaudit.model` only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from enum import StrEnum
from typing import TextIO

from fcaudit.render.base import Renderer, RenderOptions


class OutputFormat(StrEnum):
    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"


# format -> "module:class"; a test checks that every concrete format has an entry.
RENDERERS: Mapping[OutputFormat, str] = {
    OutputFormat.TABLE: "fcaudit.render.table:TableRenderer",
    OutputFormat.JSON: "fcaudit.render.json:JsonRenderer",
    OutputFormat.NDJSON: "fcaudit.render.ndjson:NdjsonRenderer",
}


def resolve_format(fmt: OutputFormat, *, stdout_is_tty: bool, to_file: bool) -> OutputFormat:
    """`auto` is a table on a terminal, JSON otherwise (pipes, files, cron)."""
    if fmt is not OutputFormat.AUTO:
        return fmt
    return OutputFormat.TABLE if stdout_is_tty and not to_file else OutputFormat.JSON


def get_renderer(fmt: OutputFormat, stream: TextIO, options: RenderOptions) -> Renderer:
    module, _, name = RENDERERS[fmt].partition(":")
    cls = getattr(importlib.import_module(module), name)
    renderer: Renderer = cls(stream, options)
    return renderer


__all__ = [
    "RENDERERS",
    "OutputFormat",
    "RenderOptions",
    "Renderer",
    "get_renderer",
    "resolve_format",
]
