"""The renderer registry, and what `import fcaudit.render` pulls in."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from fcaudit.render import RENDERERS, OutputFormat, RenderOptions, get_renderer


@pytest.mark.parametrize("fmt", [f for f in OutputFormat if f is not OutputFormat.AUTO])
def test_every_format_has_a_renderer(fmt: OutputFormat) -> None:
    assert fmt in RENDERERS
    renderer = get_renderer(fmt, io.StringIO(), RenderOptions())
    assert callable(renderer.finding) and callable(renderer.finish)


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_render_imports_the_model_only() -> None:
    modules = _imported_after(
        "import fcaudit.render, fcaudit.render.json, fcaudit.render.ndjson, fcaudit.render.table"
    )
    assert not {"fcaudit.sources.scan", "fcaudit.stripe.gateway", "stripe", "requests"} & modules
