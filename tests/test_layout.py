"""The package's layout: no import cycle between fcaudit's modules, and no module too long.

An import inside a function counts (it still ties the two modules together); one under
`if TYPE_CHECKING:` does not (it never runs). A package's face importing its own submodules is
an ordinary import; a submodule is not taken to import its package's `__init__`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "fcaudit"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The fcaudit modules `path` imports at run time (at any depth, not under TYPE_CHECKING)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            orelse: list[ast.stmt] = node.orelse
            for stmt in orelse:
                visit(stmt)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from fcaudit.render import json` imports the submodule fcaudit.render.json
            named = {f"{node.module}.{a.name}" for a in node.names}
            found.update(named & modules)
            if node.module in modules and not named <= modules:
                found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        graph[name] = _imports(path, modules) - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_fcaudit_modules() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_longer_than_600_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def _public_definitions(path: Path) -> list[tuple[str, bool]]:
    """(name, has a docstring) for each public function, class and method in `path`."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if not child.name.startswith("_"):
                    found.append((child.name, ast.get_docstring(child) is not None))
                if isinstance(child, ast.ClassDef):
                    visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_three_quarters_of_public_definitions_say_what_they_are_for() -> None:
    definitions = [d for p in PACKAGE.rglob("*.py") for d in _public_definitions(p)]
    documented = sum(has for _, has in definitions)
    assert documented / len(definitions) >= 0.75, f"{documented} of {len(definitions)}"


def test_only_the_gateway_and_the_webhook_signature_check_import_stripe_python() -> None:
    importers = {
        str(p.relative_to(PACKAGE.parent))
        for p in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Import) and any(a.name == "stripe" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and node.module == "stripe" and not node.level)
    }
    # signature.py verifies webhook deliveries with stripe-python's own check (fcaudit listen).
    assert importers == {"fcaudit/stripe/gateway.py", "fcaudit/stripe/signature.py"}


# The flow runs one way: a package never imports one downstream of it (run-time imports).
DOWNSTREAM = {
    "fcaudit.stripe": ("fcaudit.model", "fcaudit.sources", "fcaudit.runner", "fcaudit.render",
                       "fcaudit.cli"),
    "fcaudit.model": ("fcaudit.sources", "fcaudit.runner", "fcaudit.render", "fcaudit.cli",
                      "fcaudit.stripe.gateway", "fcaudit.stripe.transport"),
    "fcaudit.sources": ("fcaudit.runner", "fcaudit.render", "fcaudit.cli"),
    "fcaudit.render": ("fcaudit.sources", "fcaudit.runner", "fcaudit.cli",
                       "fcaudit.stripe.gateway", "fcaudit.stripe.transport"),
}  # fmt: skip


def test_the_flow_runs_one_way() -> None:
    graph = _graph()
    backwards = sorted(
        f"{module} -> {dep}"
        for module, deps in graph.items()
        for package, banned in DOWNSTREAM.items()
        if module == package or module.startswith(package + ".")
        for dep in deps
        if any(dep == b or dep.startswith(b + ".") for b in banned)
    )
    assert not backwards, backwards
