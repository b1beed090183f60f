"""The report of `fcaudit webhooks` in every format the other commands write.

JSON: one envelope (schema/webhooks.schema.json); NDJSON: one finding per line; CSV: one row
per finding; the table, Markdown and HTML: the destinations, the FC event types no enabled
destination receives, then the findings and notes; Prometheus: a gauge per finding code.
Everything shown came from the network: printed through `safe` (and HTML-escaped in HTML).
"""

from __future__ import annotations

import csv
import html
from collections.abc import Mapping
from typing import Any, TextIO

from fcaudit.model.webhooks import SCHEMA_VERSION, Audit, Code
from fcaudit.text import dumps, safe

CSV_COLUMNS = ("code", "destination", "event_types", "detail", "fix")


def envelope(result: Audit, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON report."""
    return {
        "schema_version": SCHEMA_VERSION,
        "report": "webhooks",
        **meta,
        "summary": {"destinations": len(result.destinations), "findings": result.summary()},
        "destinations": [d.to_record() for d in result.destinations],
        "coverage": result.coverage,
        "findings": [f.to_record() for f in result.findings],
        "notes": result.notes,
    }


def render(fmt: str, result: Audit, meta: Mapping[str, Any], out: TextIO) -> None:
    """Write the report in `fmt` to `out`."""
    if fmt == "json":
        out.write(dumps(envelope(result, meta), indent=2) + "\n")
    elif fmt == "ndjson":
        for finding in result.findings:
            out.write(dumps(finding.to_record()) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for f in result.findings:
            row = f.to_record()
            cells = (row["code"], row["destination"] or "", " ".join(row["event_types"]))
            writer.writerow([_cell(c) for c in (*cells, row["detail"], row["fix"])])
    elif fmt == "prometheus":
        _prometheus(result, meta, out)
    elif fmt == "markdown":
        _markdown(result, out)
    elif fmt == "html":
        _html(result, meta, out)
    else:
        _table(result, out)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = safe(value, limit=None)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _missing(result: Audit) -> list[str]:
    return [t for t, ids in result.coverage.items() if not ids]


def _table(result: Audit, out: TextIO) -> None:
    out.write(f"Webhooks: {result.summary_line()}\n\n")
    if result.destinations:
        rows = [("DESTINATION", "STATUS", "PAYLOAD", "API VERSION", "AUDIENCE", "FC TYPES", "URL")]
        for d in result.destinations:
            record = d.to_record()
            rows.append(
                (
                    safe(d.id),
                    safe(d.status),
                    d.payload,
                    "-" if d.payload == "thin" else safe(d.api_version or "(default)"),
                    str(d.audience),
                    str(len(record["fc_event_types"])),
                    safe(d.url or ""),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            out.write("\n")
    else:
        out.write("No event destinations.\n")
    for f in result.findings:
        where = f" [{safe(f.destination)}]" if f.destination else ""
        out.write(f"\n{f.code}{where}: {safe(f.detail)}\n  Fix: {safe(f.fix)}\n")
    for note in result.notes:
        out.write(f"\nNote: {safe(note)}\n")


def _markdown(result: Audit, out: TextIO) -> None:
    def md(text: Any) -> str:
        return safe(text).replace("|", "\\|").replace("<", "&lt;").replace("`", "'")

    out.write(f"# Webhooks\n\n{md(result.summary_line())}\n\n")
    out.write("| Destination | Status | Payload | API version | Audience | URL |\n")
    out.write("|---|---|---|---|---|---|\n")
    for d in result.destinations:
        out.write(
            f"| {md(d.id)} | {md(d.status)} | {d.payload} | {md(d.api_version or '(default)')} "
            f"| {d.audience} | {md(d.url or '')} |\n"
        )
    if result.findings:
        out.write("\n## Findings\n\n")
        for f in result.findings:
            where = f" ({md(f.destination)})" if f.destination else ""
            out.write(f"- **{f.code}**{where}: {md(f.detail)}. Fix: {md(f.fix)}.\n")
    if result.notes:
        out.write("\n## Notes\n\n" + "".join(f"- {md(n)}\n" for n in result.notes))


def _html(result: Audit, meta: Mapping[str, Any], out: TextIO) -> None:
    def h(text: Any) -> str:
        return html.escape(safe(text, limit=None))

    out.write(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>fcaudit webhooks</title></head><body>\n"
        f"<h1>Webhooks</h1>\n<p>{h(result.summary_line())}</p>\n<table>\n"
        "<tr><th>Destination</th><th>Status</th><th>Payload</th><th>API version</th>"
        "<th>Audience</th><th>URL</th></tr>\n"
    )
    for d in result.destinations:
        out.write(
            f"<tr><td>{h(d.id)}</td><td>{h(d.status)}</td><td>{h(d.payload)}</td>"
            f"<td>{h(d.api_version or '(default)')}</td><td>{h(d.audience)}</td>"
            f"<td>{h(d.url or '')}</td></tr>\n"
        )
    out.write("</table>\n")
    if result.findings:
        out.write("<h2>Findings</h2>\n<ul>\n")
        for f in result.findings:
            where = f" ({h(f.destination)})" if f.destination else ""
            out.write(f"<li><b>{h(f.code)}</b>{where}: {h(f.detail)}. Fix: {h(f.fix)}.</li>\n")
        out.write("</ul>\n")
    if result.notes:
        out.write("<h2>Notes</h2>\n<ul>\n")
        out.write("".join(f"<li>{h(n)}</li>\n" for n in result.notes) + "</ul>\n")
    out.write(f"<p><small>generated {h(meta.get('generated_at', ''))}</small></p>\n")
    out.write("</body></html>\n")


def _prometheus(result: Audit, meta: Mapping[str, Any], out: TextIO) -> None:
    account = str(meta.get("stripe_account") or "platform")
    label = safe(account, limit=64).replace("\\", "\\\\").replace('"', '\\"')
    out.write(
        "# HELP fcaudit_webhook_findings Findings of the last fcaudit webhooks run, by code.\n"
        "# TYPE fcaudit_webhook_findings gauge\n"
    )
    for code, n in result.summary().items():
        out.write(f'fcaudit_webhook_findings{{code="{Code(code)}",stripe_account="{label}"}} {n}\n')
    out.write(
        "# HELP fcaudit_webhook_destinations Event destinations the key can read, by status.\n"
        "# TYPE fcaudit_webhook_destinations gauge\n"
    )
    enabled = sum(d.enabled for d in result.destinations)
    for status, n in (("enabled", enabled), ("other", len(result.destinations) - enabled)):
        out.write(
            f'fcaudit_webhook_destinations{{status="{status}",stripe_account="{label}"}} {n}\n'
        )
    out.write(
        "# HELP fcaudit_webhook_fc_event_types_unreceived FC event types no enabled destination "
        "receives.\n# TYPE fcaudit_webhook_fc_event_types_unreceived gauge\n"
        f'fcaudit_webhook_fc_event_types_unreceived{{stripe_account="{label}"}} '
        f"{len(_missing(result))}\n"
    )
