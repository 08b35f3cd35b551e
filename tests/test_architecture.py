"""The layout of issue 12, checked by reading the code's imports (ast; nothing is imported).

Each app may import only the apps its row of the table allows (docs/architecture.md);
`triage` imports nothing of Django; and no two project files import each other, directly or
round a longer loop (function-level imports count: a cycle hidden in a function is still
a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# portal's helper modules import no app and serve every app but triage: request helpers
# (client address, posted), the strict form fields, log redaction, the environment reader.
PORTAL_BASE = {"portal.http", "portal.fields", "portal.redaction", "portal.env"}
BASE = {"accounts", "portal-base"}

# app -> the apps it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "triage": set(),
    "portal-base": set(),
    "accounts": {"portal-base"},
    # The treatment calendar (issue 13): plans, cycles, bag changes, visits, the feed.
    "treatment": BASE,
    "symptoms": {"triage", "treatment"} | BASE,
    "notifications": BASE,
    "alerts": {"symptoms", "notifications", "triage", "treatment"} | BASE,
    "nursing": {"alerts", "notifications", "symptoms", "triage", "treatment"} | BASE,
    "portal": {"alerts", "notifications", "nursing", "symptoms", "triage", "treatment"} | BASE,
}
APPS = set(ALLOWED) - {"portal-base"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_files() -> dict[str, Path]:
    files = {}
    for app in sorted(APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            files[_module_name(path)] = path
    return files


FILES = _project_files()


def _layer(module: str) -> str | None:
    if module in PORTAL_BASE or any(module.startswith(m + ".") for m in PORTAL_BASE):
        return "portal-base"
    top = module.split(".")[0]
    return top if top in APPS else None


def _resolve(module: str, name: str | None) -> str:
    """The project file `from module import name` reads: module.name if that is a file."""
    if name is not None and f"{module}.{name}" in FILES:
        return f"{module}.{name}"
    return module


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, at any depth."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(_resolve(node.module, alias.name), node.lineno) for alias in node.names]
    return found


def test_every_app_imports_only_what_the_table_allows() -> None:
    wrong = []
    for module, path in FILES.items():
        own = _layer(module)
        if own == "portal" and "migrations" in module:
            continue
        for imported, line in _imports(path):
            target = _layer(imported)
            if target is None or target == own:
                continue
            if "migrations" in module.split("."):
                continue  # migrations name other apps' migrations, not their code
            if target not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} {own} -> {imported}")
    assert wrong == []


def test_triage_imports_nothing_of_django_or_the_project() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} {imported}"
        for module, path in FILES.items() if module.split(".")[0] == "triage"
        for imported, line in _imports(path)
        if imported.split(".")[0] == "django" or _layer(imported) not in (None, "triage")
    ]
    assert wrong == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in FILES}
    for module, path in FILES.items():
        for imported, _ in _imports(path):
            # An import of a package's submodule also runs the package: both are edges.
            while imported and imported not in FILES and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in FILES and imported != module:
                graph[module].add(imported)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_files() -> None:
    # __init__ files that only re-export their submodules are part of their package: an
    # edge package -> submodule -> package is how Python runs a package, not a cycle of ours.
    graph = _graph()
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    assert _cycles(graph) == []


@pytest.mark.parametrize(("broken", "expected"), [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_cycle_finder_finds_cycles(broken, expected) -> None:
    assert _cycles(broken) == expected


def test_the_table_check_sees_a_forbidden_arrow(tmp_path) -> None:
    # The checker itself: accounts importing alerts is caught (so a green run means something).
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from alerts.models import Alert\n")
    imported = [_layer(m) for m, _ in _imports(sample)]
    assert imported == ["alerts"]
    assert "alerts" not in ALLOWED["accounts"]
