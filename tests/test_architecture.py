"""The rules of the house (ARCHITECTURE.md, issue 13), checked on the source so they stay true.

* the core (``synth_pipeline/``) never imports Dagster or the Dagster layer;
* no import cycle inside the core, counting imports inside functions too
  (a function-level import must not hide a cycle);
* no module over 500 lines and no function over 60 in the core and the Dagster layer;
* every Dagster asset, check, sensor and schedule body is under 25 lines: it calls
  one core step and attaches metadata, no decision lives there.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = "synth_pipeline"
LAYERS = (CORE, "assets", "resources")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
MAX_ASSET_BODY_LINES = 25
DAGSTER_DECORATORS = {"asset", "lifecycle_asset", "multi_asset", "asset_check", "sensor", "schedule"}


def modules(root: str) -> dict[str, Path]:
    found = {}
    for path in sorted((REPO / root).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> list[str]:
    """Every module ``path`` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    type_checking = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names = []
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def core_import_graph() -> dict[str, set[str]]:
    known = modules(CORE)

    def owner(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in known.items():
        targets = {owner(name) for name in imported_names(module, path) if name.startswith(CORE + ".")}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_core_imports_neither_dagster_nor_the_dagster_layer():
    offending = [
        f"{module} imports {name}"
        for module, path in modules(CORE).items()
        for name in imported_names(module, path)
        if name.split(".")[0] in ("dagster", "assets", "resources") or name.startswith("dagster_")
    ]
    assert offending == []


def test_the_core_has_no_import_cycle():
    graph = core_import_graph()
    assert len(graph) > 40 and sum(map(len, graph.values())) > 80  # the graph is really read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _length(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("root", LAYERS)
def test_modules_and_functions_stay_small(root):
    too_long = []
    for path in modules(root).values():
        source = path.read_text()
        if len(source.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {len(source.splitlines())} lines")
        for function in _functions(ast.parse(source)):
            if _length(function) > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(REPO)}:{function.lineno} {function.name}: {_length(function)}")
    assert too_long == []


def _body_length(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return function.end_lineno - function.body[0].lineno + 1


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def test_dagster_definitions_only_wire_the_core():
    bodies = [
        (path, function)
        for root in ("assets",)
        for path in modules(root).values()
        for function in _functions(ast.parse(path.read_text()))
        if any(_decorator_name(d) in DAGSTER_DECORATORS for d in function.decorator_list)
    ]
    assert len(bodies) >= 8  # assets, checks, the sensor: really found
    long_bodies = [
        f"{path.relative_to(REPO)}:{function.lineno} {function.name}: {_body_length(function)} lines"
        for path, function in bodies
        if _body_length(function) >= MAX_ASSET_BODY_LINES
    ]
    assert long_bodies == []
