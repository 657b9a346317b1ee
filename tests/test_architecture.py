"""The package's folders show the stages, and imports run only down the flow (no cycles).

media -> datasets -> samples -> features -> models -> training -> detection -> fixing -> benchmark,
with the plumbing (`storage`, then `batch`) below every stage and the entry points above all.
Lazy imports inside functions count too: a stage that reaches up, even late, is still tangled.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "avalign"
#: every package in the order of the flow: a module may import only its own package or earlier
ORDER = [
    "storage",
    "batch",
    "media",
    "datasets",
    "samples",
    "features",
    "models",
    "training",
    "detection",
    "fixing",
    "benchmark",
]
ENTRY_POINTS = {"prepare", "generate", "extract", "train", "evaluate", "detect", "fix"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every avalign module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("avalign"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("avalign"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def layer(module: str) -> int | None:
    """The module's place in the flow: its package's index; entry points come last."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in ORDER:
        return ORDER.index(parts[1])
    if parts[1] in ENTRY_POINTS:
        return len(ORDER)
    return None


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_top_level_holds_only_entry_points_and_packages():
    loose = {p.stem for p in PACKAGE.glob("*.py")} - ENTRY_POINTS - {"__init__"}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert not loose, f"modules at the top of the package that are not entry points: {loose}"
    assert packages - {"conf"} == set(ORDER), packages ^ set(ORDER)
    for name in ENTRY_POINTS:  # thin: the work lives in the packages
        lines = (PACKAGE / f"{name}.py").read_text().count("\n")
        assert lines < 60, f"{name}.py has {lines} lines: move the work into its package"


def test_imports_run_only_down_the_flow():
    known = modules()
    upward = []
    for name, path in known.items():
        here = layer(name)
        for target in imported_modules(path):
            there = layer(target)
            if target not in known and target.rpartition(".")[0] in known:
                there = layer(target.rpartition(".")[0])  # `from pkg import name` of a value
            if here is None or there is None:
                continue
            if there > here:
                upward.append(f"{name} -> {target}")
    assert not upward, "imports against the flow:\n" + "\n".join(sorted(upward))


def test_no_import_cycles_between_modules():
    known = modules()
    graph = {
        name: {t for t in imported_modules(path) if t in known and t != name}
        for name, path in known.items()
    }
    # a package's __init__ that re-exports its own modules is not a cycle of the flow
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t.startswith(name + "."))}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule above is not vacuous: an upward import in a stage module is found."""
    sample = PACKAGE / "media" / "decode.py"
    assert "avalign.media.errors" in imported_modules(sample)
    assert layer("avalign.media.decode") < layer("avalign.detection.check")
    assert layer("avalign.storage.atomic") == 0 and layer("avalign.detect") == len(ORDER)
