"""The package's import structure: data flows down the floors and nothing imports upward, and no module cycle.

Every ``import`` counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import is still a
dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "kgbuild"

# Lowest floor first. A module may import its own floor and the floors below it, never a floor above.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "records", "resources", "names", "schema", "timing"),  # shared vocabulary
    ("ingest",),  # files -> Document
    ("segment",),  # Document -> sentences, tokens, windows
    ("datasets",),  # annotated data -> the same records, for training and evaluation
    ("extract",),  # windows -> mentions, clusters, relations
    ("fusion",),  # extractions -> canonical entities and facts
    ("graph",),  # entities and facts -> a store (Neo4j or embedded), Cypher
    ("evaluation",),  # scorers over extract and fusion
    ("pipeline",),  # the build: stages wired behind the resume ledger
    ("training",),  # tokenizers, pretraining, fine-tuning, distillation
    ("report",),  # the HTML report over a graph
    ("testing",),  # scaffolding shipped for tests and examples
    ("api",),
    ("cli",),
)
FLOOR_OF = {name: floor for floor, names in enumerate(FLOORS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every kgbuild module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kgbuild"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kgbuild") and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from kgbuild.x import module`
    return found


def _graph() -> nx.DiGraph:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in _imports(path):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def _floor(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return FLOOR_OF[top]


def test_every_top_level_module_has_a_floor() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.is_file() and p.suffix == ".py") or (p / "__init__.py").is_file()}
    assert tops - set(FLOOR_OF) == set()


def test_nothing_imports_a_higher_floor() -> None:
    upward = sorted(f"{a} -> {b}" for a, b in _graph().edges if _floor(b) > _floor(a))
    assert upward == []


def test_no_import_cycles() -> None:
    graph = _graph()
    # a package's __init__ re-exporting its modules is not a cycle a reader has to untangle
    graph.remove_edges_from([(a, b) for a, b in list(graph.edges) if b.startswith(a + ".")])
    assert sorted(sorted(c) for c in nx.simple_cycles(graph)) == []
