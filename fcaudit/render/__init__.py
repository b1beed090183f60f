"""Renderers: one per output format, chosen from one registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TextIO

from fcaudit.render.base import Renderer, ReportMeta
from fcaudit.render.json import JsonRenderer
from fcaudit.render.ndjson import NdjsonRenderer
from fcaudit.render.table import TableRenderer


class OutputFormat(StrEnum):
    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"


RENDERERS: Mapping[OutputFormat, Callable[[TextIO, ReportMeta], Renderer]] = {
    OutputFormat.TABLE: TableRenderer,
    OutputFormat.JSON: JsonRenderer,
    OutputFormat.NDJSON: NdjsonRenderer,
}


def resolve_format(fmt: OutputFormat, *, stdout_is_tty: bool, to_file: bool) -> OutputFormat:
    """`auto` is a table on a terminal, JSON otherwise (pipes, files, cron)."""
    if fmt is not OutputFormat.AUTO:
        return fmt
    return OutputFormat.TABLE if stdout_is_tty and not to_file else OutputFormat.JSON


def get_renderer(fmt: OutputFormat, stream: TextIO, meta: ReportMeta) -> Renderer:
    return RENDERERS[fmt](stream, meta)


__all__ = ["RENDERERS", "OutputFormat", "Renderer", "ReportMeta", "get_renderer", "resolve_format"]
