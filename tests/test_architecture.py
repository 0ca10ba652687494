"""The import rules of docs/architecture.md, read from the source with ``ast``:
data flows one way, so the core never reaches into the web layer and nothing but the
entry point reaches into the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The thin shells: the CLI may start the web app; ``python -m mededkg`` runs the CLI.
SHELLS = {"mededkg.cli", "mededkg.__main__"}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module an import statement of *path* names (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _reaches(imported: set[str], target: str) -> bool:
    return any(name == target or name.startswith(target + ".") for name in imported)


def test_the_core_never_imports_the_web_layer() -> None:
    offenders = [
        name
        for name, path in _modules("mededkg").items()
        if name not in SHELLS and _reaches(_imports(path), "webapp")
    ]
    assert offenders == [], "mededkg must not import webapp: " + ", ".join(offenders)


def test_nothing_but_the_entry_point_imports_the_cli() -> None:
    modules = {**_modules("mededkg"), **_modules("webapp")}
    offenders = [
        name
        for name, path in modules.items()
        if name not in SHELLS and _reaches(_imports(path), "mededkg.cli")
    ]
    assert offenders == [], "only mededkg.__main__ may import the CLI: " + ", ".join(
        offenders
    )


def test_the_rules_see_real_imports() -> None:
    # the checker is not vacuous: the CLI does import the web app, and the web app
    # the core
    assert _reaches(_imports(ROOT / "mededkg" / "cli.py"), "webapp")
    assert _reaches(_imports(ROOT / "webapp" / "sparql.py"), "mededkg")


def test_only_the_gate_calls_the_stores_query_method() -> None:
    # docs/architecture.md "One gate": every query reaches the engine through
    # mededkg.query.execute; a page or command calling store.query would skip its
    # limits (the store implementations themselves forward to the engine).
    implementations = {n for n in _modules("mededkg") if n.startswith("mededkg.stor")}
    callers = set()
    for package in ("mededkg", "webapp"):
        for name, path in _modules(package).items():
            if name in implementations:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "query"
                    and "store" in ast.unparse(node.func.value).lower()
                ):
                    callers.add(name)
    assert callers == {"mededkg.query.gate"}


def _cycles(package: str) -> list[list[str]]:
    """Import cycles among the modules of *package* (imports inside functions count:
    a circle hidden in a function is still a circle; a submodule's import of its own
    package's other submodules is an edge, the package's ``__init__`` re-exporting
    them is one too)."""
    modules = _modules(package)
    edges = {
        # ``from webapp import protocol`` names the submodule (its own edge); the
        # package itself is only the namespace it is reached through
        name: sorted(
            m for m in _imports(path) if m in modules and m not in (name, package)
        )
        for name, path in modules.items()
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles("mededkg") == []
    assert _cycles("webapp") == []


def test_the_storage_wing_imports_no_other_wing() -> None:
    allowed = {
        "mededkg.errors",
        "mededkg.settings",
        "mededkg.terms",
        "mededkg.guard",
        "mededkg.isolation",
    }
    for name, path in _modules("mededkg").items():
        if not name.startswith("mededkg.storage"):
            continue
        ours = {
            i
            for i in _imports(path)
            if i.startswith("mededkg.") and not i.startswith("mededkg.storage")
        }
        outside = {i for i in ours if not any(_reaches({i}, a) for a in allowed)}
        assert outside == set(), f"{name} imports {sorted(outside)}"
