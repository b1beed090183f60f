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
    """The report formats `--format` accepts; `auto` is settled per run by resolve_format()."""

    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"
    PROMETHEUS = "prometheus"


# format -> "module:class"; a test checks that every concrete format has an entry.
RENDERERS: Mapping[OutputFormat, str] = {
    OutputFormat.TABLE: "fcaudit.render.table:TableRenderer",
    OutputFormat.JSON: "fcaudit.render.json:JsonRenderer",
    OutputFormat.NDJSON: "fcaudit.render.ndjson:NdjsonRenderer",
    OutputFormat.CSV: "fcaudit.render.csv:CsvRenderer",
    OutputFormat.MARKDOWN: "fcaudit.render.markdown:MarkdownRenderer",
    OutputFormat.HTML: "fcaudit.render.html:HtmlRenderer",
    OutputFormat.PROMETHEUS: "fcaudit.render.prometheus:PrometheusRenderer",
}

# `-o FILE` picks the format from the extension when --format is not given.
EXTENSIONS: Mapping[str, OutputFormat] = {
    ".json": OutputFormat.JSON,
    ".ndjson": OutputFormat.NDJSON,
    ".csv": OutputFormat.CSV,
    ".md": OutputFormat.MARKDOWN,
    ".html": OutputFormat.HTML,
    ".prom": OutputFormat.PROMETHEUS,
}

# Formats that carry groups (and so can carry --contact details).
WITH_GROUPS = frozenset(
    {
        OutputFormat.TABLE,
        OutputFormat.JSON,
        OutputFormat.CSV,
        OutputFormat.MARKDOWN,
        OutputFormat.HTML,
    }
)


def resolve_format(fmt: OutputFormat, *, stdout_is_tty: bool, to_file: bool) -> OutputFormat:
    """`auto` is a table on a terminal, JSON otherwise (pipes, files, cron)."""
    if fmt is not OutputFormat.AUTO:
        return fmt
    return OutputFormat.TABLE if stdout_is_tty and not to_file else OutputFormat.JSON


# The table of fcaudit events is a timeline of events, not a worklist (RenderOptions.timeline).
TIMELINE = "fcaudit.render.timeline:TimelineRenderer"


def get_renderer(fmt: OutputFormat, stream: TextIO, options: RenderOptions) -> Renderer:
    """The renderer writing `fmt` to `stream`, its module imported only now (so `--help`
    and the JSON formats never load rich)."""
    where = TIMELINE if fmt is OutputFormat.TABLE and options.timeline else RENDERERS[fmt]
    module, _, name = where.partition(":")
    cls = getattr(importlib.import_module(module), name)
    renderer: Renderer = cls(stream, options)
    return renderer


__all__ = [
    "EXTENSIONS",
    "RENDERERS",
    "WITH_GROUPS",
    "OutputFormat",
    "RenderOptions",
    "Renderer",
    "get_renderer",
    "resolve_format",
]
