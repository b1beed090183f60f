"""HTML: the golden file, and the report as a browser sees it: headless Chromium renders the
adversarial report once, and the rendered DOM is checked with the standard library's parser:
hostile names stay text, nothing is loaded from anywhere, the summary comes first and the
chart is there.

Chromium is required (CI installs it in .ci/run): a machine without it fails here, loudly,
rather than skipping the one test that opens the page in a real browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fcaudit.errors import ExitCode
from fcaudit.render.markdown import DASHBOARD_URL
from fcaudit.sandbox.data import HOSTILE_DISPLAY_NAMES, HOSTILE_INSTITUTIONS
from fcaudit.text import safe
from tests.conftest import run, system_tool
from tests.factories import AS_OF, account, authorization, expiring, ndjson
from tests.render.test_formats import FORMATS, UNSAFE, check_golden, output, records

# Headless, and nothing Chromium would fetch by itself (this machine's network is closed).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# What the report is made of; anything else in the DOM came from the data.
ELEMENTS = {
    "html", "head", "meta", "title", "style", "body", "header", "section", "h1", "h2", "h3",
    "p", "ul", "li", "span", "code", "br", "a", "table", "thead", "tbody", "tr", "th", "td",
    "svg", "g", "line", "rect", "text", "wbr",
}  # fmt: skip

URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href"}


def chromium() -> str:
    return system_tool(
        "chromium", "chromium-browser", package="chromium", checks="the HTML report is tested"
    )


class Dom(HTMLParser):
    """Elements in document order, and the text of every table cell, heading and list item."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self.blocks: list[str] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("td", "th", "h3", "li", "style", "p"):
            self._open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "h3", "li", "style", "p") and self._open:
            self.blocks.append("".join(self._open.pop()))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for block in self._open:
            block.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Dom]:
    """The adversarial report (the golden file), and its DOM as Chromium built it."""
    html_text = output(*FORMATS["html"])
    where = tmp_path_factory.mktemp("html")
    report = where / "report.html"
    report.write_text(html_text, encoding="utf-8")
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={where / 'profile'}", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom()
    dom.feed(done.stdout)
    dom.close()
    assert ("header", {"id": "summary"}) in dom.elements, "Chromium did not render the report"
    return html_text, dom


def test_html_is_exactly_the_golden_file() -> None:
    check_golden("classify.html", output(*FORMATS["html"]))


def test_the_rendered_page_is_only_the_report(page: tuple[str, Dom]) -> None:
    _, dom = page
    tags = {tag for tag, _ in dom.elements}
    assert tags <= ELEMENTS, tags - ELEMENTS  # no <script>, <img>, <b> from the data
    for tag, attrs in dom.elements:
        assert not [a for a in attrs if a.startswith("on") or a in ("src", "srcset", "style")]
        if "href" in attrs:
            assert tag == "a" and DASHBOARD_URL.fullmatch(attrs["href"]), attrs
            assert attrs["rel"] == "noopener noreferrer"
    assert not any(UNSAFE.search(t) for t in dom.texts)


def test_hostile_names_are_text(page: tuple[str, Dom]) -> None:
    _, dom = page
    cells = set(dom.blocks)
    for name in HOSTILE_INSTITUTIONS:
        assert safe(name) in cells, name
    for rec in records().values():
        if rec["display_name"] in HOSTILE_DISPLAY_NAMES:
            assert safe(f"{rec['display_name']} ••{rec['last4']}") in cells, rec["display_name"]
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[link](http"):
        assert any(literal in c for c in cells), literal


def test_the_summary_comes_first_then_the_chart(page: tuple[str, Dom]) -> None:
    _, dom = page
    tags = [tag for tag, _ in dom.elements]
    body = tags.index("body")
    assert dom.elements[body + 1] == ("header", {"id": "summary"})
    assert tags[body + 2] == "h1"
    assert tags.index("svg") < tags.index("h3") < tags.index("table", tags.index("svg"))
    svgs = [attrs for tag, attrs in dom.elements if tag == "svg"]
    assert len(svgs) == 1 and svgs[0]["role"] == "img"
    assert "Upcoming deactivations per week" in svgs[0]["aria-label"]
    bars = [attrs for tag, attrs in dom.elements if tag == "rect"]
    assert len(bars) == 12 and all(a["class"] == "bar" for a in bars)
    found = records().values()
    auths = sum(r["object"].endswith("authorization") for r in found)
    headline = f"{len(found) - auths} accounts, {auths} authorizations: "
    assert tags[body + 3] == "p" and dom.blocks[1].startswith(headline)  # [0]: <style>


def test_the_page_requests_nothing(page: tuple[str, Dom]) -> None:
    html_text, dom = page
    metas = {a.get("http-equiv"): a.get("content", "") for t, a in dom.elements if t == "meta"}
    csp = metas["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    # The one stylesheet is allowed by its hash, which must be the hash of what is there.
    style = re.search(r"<style>(.*?)</style>", html_text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert not re.search(r"@import|url\(|@font-face", style.group(1))
    # The file as written, parsed without a browser: no URL in any attribute but the
    # Dashboard links' hrefs (the data's URLs are text), and nothing that could load one.
    raw = Dom()
    raw.feed(html_text)
    values = [(k, v) for _, attrs in raw.elements for k, v in attrs.items()]
    urls = [v for k, v in values if k in URL_ATTRIBUTES or "://" in v or k.startswith("on")]
    assert urls and all(DASHBOARD_URL.fullmatch(u) for u in urls), urls
    assert {tag for tag, _ in raw.elements} <= ELEMENTS


# -- the page's width --------------------------------------------------------------------------

WIDTHS = (1280, 1440, 1920)
# A page of our own that frames the report at each width and writes what the framed document
# measures (the report itself runs no script: its CSP forbids them). Reading a framed file:
# page needs --allow-file-access-from-files.
MEASURE = """<!DOCTYPE html><html><body><pre id="out">pending</pre>%s<script>
var frames = Array.from(document.querySelectorAll("iframe")), done = [];
frames.forEach(function (f) { f.onload = function () {
  var d = f.contentDocument.documentElement;
  var wide = Array.from(f.contentDocument.querySelectorAll("table, h3, li, p"))
    .filter(function (e) { return e.getBoundingClientRect().right > d.clientWidth + 0.5; });
  done.push({width: f.width | 0, scroll: d.scrollWidth, client: d.clientWidth,
             outside: wide.length, tables: f.contentDocument.querySelectorAll("table").length});
  if (done.length === frames.length) {
    document.getElementById("out").textContent = JSON.stringify(done);
  }
}; });
</script></body></html>"""


def widths(tmp_path: Path, page: str) -> list[dict[str, int]]:
    """The report framed at each of WIDTHS in headless Chromium: each frame's document width
    (scrollWidth), its viewport (clientWidth), and how many blocks end past the viewport."""
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    frames = "".join(
        f'<iframe width="{w}" height="900" src="report.html"></iframe>' for w in WIDTHS
    )
    (tmp_path / "measure.html").write_text(MEASURE % frames, encoding="utf-8")
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
         (tmp_path / "measure.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    assert found is not None and found.group(1) != "pending", done.stdout[-2000:]
    measured: list[dict[str, int]] = json.loads(found.group(1))
    assert sorted(m["width"] for m in measured) == list(WIDTHS)
    return measured


def sandbox_page() -> str:
    result = run("scan", "--sandbox", "-f", "html", "-q", "--fail-on", "none", key=None)
    assert result.exit_code == ExitCode.OK, result.stderr
    return result.stdout


@pytest.mark.parametrize("report", ["sandbox", "hostile"])
def test_the_page_never_scrolls_sideways_at_1280_px_and_up(tmp_path: Path, report: str) -> None:
    page = sandbox_page() if report == "sandbox" else output(*FORMATS["html"])
    for frame in widths(tmp_path, page):
        assert frame["tables"] > 2, frame  # the worklist is there
        assert frame["scroll"] <= frame["client"], frame  # nothing to scroll sideways to
        assert frame["outside"] == 0, frame


def test_the_chart_counts_an_authorization_once_through_its_accounts() -> None:
    objects = [
        account("fca_1", status_details=expiring(3)),
        account("fca_2", status_details=expiring(4)),
        {**authorization(), "status_details": expiring(3)},
    ]
    found = run("classify", "-", "-f", "json", *AS_OF, input=ndjson(objects), key=None)
    assert sum(f["expected_deactivation_date"] is not None
               for f in json.loads(found.stdout)["findings"]) == 3  # fmt: skip
    page = run("classify", "-", "-f", "html", *AS_OF, input=ndjson(objects), key=None).stdout
    weeks = re.findall(r"<title>Week of [0-9-]+: (\d+) deactivations?</title>", page)
    assert [int(n) for n in weeks][:2] == [2, 0] and sum(map(int, weeks)) == 2
    table = run("classify", "-", "-f", "table", *AS_OF, input=ndjson(objects), key=None).stdout
    first = next(line for line in table.splitlines() if line.startswith("  2026-11-26"))
    assert first.split()[1] == "2"
