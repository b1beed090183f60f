"""The README's contract tables match the code; the schema is a valid JSON Schema."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema

from fcaudit.errors import ExitCode
from fcaudit.model.findings import Category, SignalCode
from fcaudit.rules import default_rules, parse_rules
from tests.conftest import SCHEMA

README = (Path(__file__).parent.parent / "README.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_exit_code_table_matches_code() -> None:
    codes = [int(m) for m in re.findall(r"^\| (\d+) \|", section("Exit codes"), re.M)]
    assert codes == [int(c) for c in ExitCode]


def test_category_table_matches_code() -> None:
    names = re.findall(r"^\| `([a-z_]+)` \|", section("Categories"), re.M)
    assert names == [str(c) for c in Category]


def test_schema_is_valid_and_lists_every_category() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$defs"]["category"]["enum"] == [str(c) for c in Category]
    assert set(SCHEMA["properties"]["summary"]["properties"]["by_category"]["required"]) == {
        str(c) for c in Category
    }


def test_signal_table_matches_code() -> None:
    codes = re.findall(r"^\| `([a-z_]+)` \|", section("Signals"), re.M)
    assert codes == [str(c) for c in SignalCode]
    assert SCHEMA["$defs"]["signal_code"]["enum"] == codes


def test_the_rules_example_in_the_readme_parses_and_the_shipped_rules_are_listed() -> None:
    text = section("Institution rules")
    example = re.search(r"```toml\n(.*?)```", text, re.S)
    assert example, "the README shows no rules file"
    rules = parse_rules(example.group(1), "README example").rules
    assert [r.id for r in rules] == ["acme-90d"]
    listed = re.findall(r"^\| `([a-z0-9.-]+)` \|", text, re.M)
    assert listed == [r.id for r in default_rules().rules]


def test_the_suppressions_example_in_the_readme_parses() -> None:
    from fcaudit.suppress import parse

    example = re.search(r"```toml\n(.*?)```", section("Suppressions"), re.S)
    assert example, "the README shows no ignore file"
    entries = parse(example.group(1), "README example")
    assert [e.id for e in entries] == ["fca_1MwVK2"]
    assert entries[0].suppression.categories == frozenset({"expiring"})


def test_the_architecture_tree_names_every_module_of_the_flow() -> None:
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    tree = section.split("```", 2)[1]
    package = Path(__file__).parent.parent / "fcaudit"
    modules = [
        p
        for folder in (package, package / "stripe", package / "sources", package / "model")
        for p in sorted(folder.glob("*.py"))
        if p.name != "__init__.py"
    ]
    missing = [str(p.relative_to(package)) for p in modules if p.name not in tree]
    assert not missing, f"README Architecture does not name {missing}"
