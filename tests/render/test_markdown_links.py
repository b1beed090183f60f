"""Markdown makes no link fcaudit did not mean, whatever autolinking the renderer does: GitHub's
own renderer (cmark-gfm with its autolink extension) and markdown-it-py with linkify
(linkify-it: bare domains and addresses too) find only the Stripe Dashboard links, and show
every e-mail address, URL and domain from the data as the text it is.

cmark-gfm (Debian package `cmark-gfm`) is required (`make test` installs it): a machine
without it fails here rather than skipping the check against GitHub's renderer.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
from collections.abc import Callable

import pytest
from markdown_it import MarkdownIt

from fcaudit.model.findings import Category
from fcaudit.model.report import Contact, Group, GroupBy, ScanResult
from fcaudit.render import RenderOptions
from fcaudit.render.markdown import DASHBOARD_URL, MarkdownRenderer
from tests.conftest import system_tool
from tests.render.test_formats import FORMATS, finding, meta, output

DASHBOARD = "https://dashboard.stripe.com/test/customers/cus_1"
# What customers, banks and the API may send that an autolinker would take for a link.
LINKISH = {
    "name": "Noah Müller (see www.evil.com)",
    "email": "noah.müller.218@example.com",
    "institution": "Visit evil.com/path, http://evil.com/x or //evil.com",
    "display_name": "mail a.b+c@evil.com, xmpp:foo@bar.com, mailto:x@y.com, ftp://e.com",
}


def cmark_gfm() -> str:
    return system_tool(
        "cmark-gfm",
        package="cmark-gfm",
        checks="the Markdown report is checked by GitHub's renderer",
    )


def github(text: str) -> str:
    """The Markdown as GitHub renders it: GFM tables and autolinks."""
    done = subprocess.run(
        [cmark_gfm(), "-e", "table", "-e", "autolink", "-e", "strikethrough"],
        input=text, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def linkified(text: str) -> str:
    """The Markdown as markdown-it-py renders it with linkify (fuzzy links and addresses)."""
    page: str = (
        MarkdownIt("commonmark", {"linkify": True}).enable(["table", "linkify"]).render(text)
    )
    return page


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]*)"', page)]


def shown(page: str) -> str:
    """The page's text as a reader sees it (tags gone, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def linkish_report() -> str:
    out = io.StringIO()
    renderer = MarkdownRenderer(out, RenderOptions(contact=True))
    renderer.finding(
        finding(
            "fca_1", account_holder="cus_1", category=Category.EXPIRING, last4="1234",
            institution_name=LINKISH["institution"], display_name=LINKISH["display_name"],
            dashboard_url=DASHBOARD,
        )
    )  # fmt: skip
    group = Group(
        key="cus_1", by=GroupBy.CUSTOMER, holder_type="customer", worst=Category.EXPIRING,
        deadline=None, accounts=1, finding_ids=("fca_1",), authorizations=(),
        relink_authorizations=(), dashboard_url=DASHBOARD,
        contact=Contact(LINKISH["name"], LINKISH["email"]),
    )  # fmt: skip
    renderer.finish(ScanResult(groups=[group], contact=True), meta())
    return out.getvalue()


@pytest.mark.parametrize("render", [github, linkified])
def test_addresses_urls_and_domains_from_the_data_are_never_links(
    render: Callable[[str], str],
) -> None:
    page = render(linkish_report())
    links = hrefs(page)
    assert links and all(DASHBOARD_URL.fullmatch(h) for h in links), links
    text = shown(page)
    for value in LINKISH.values():
        assert value in text, value  # shown as the text it is


@pytest.mark.parametrize("render", [github, linkified])
def test_the_adversarial_report_links_only_the_dashboard(render: Callable[[str], str]) -> None:
    for args in (FORMATS["markdown"], (*FORMATS["markdown"], "--group-by", "institution")):
        links = hrefs(render(output(*args)))
        assert links and all(DASHBOARD_URL.fullmatch(h) for h in links), links
