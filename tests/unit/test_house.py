"""The house rules anyone can check (#23): one name for one class and one for one module
across the project's packages, and no two modules that import each other."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "flightdata": ROOT / "include" / "flightdata",
    "flightdata_cdk": ROOT / "infra" / "aws" / "flightdata_cdk",
    "localaws": ROOT / "infra" / "local" / "localaws",
    "flightdata_local": ROOT / "infra" / "local" / "flightdata_local",
    "opensky_sim": ROOT / "infra" / "local" / "opensky_sim",
}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for root in PACKAGES.values():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root.parent).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, at any depth of its code (lazy imports count)."""
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                targets.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
    return {t for t in targets & known if t != name}


def test_no_class_name_is_defined_twice():
    where = defaultdict(list)
    for name, tree in _modules().items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                where[node.name].append(name)
    assert {cls: mods for cls, mods in where.items() if len(mods) > 1} == {}


def test_no_module_name_is_used_twice():
    """A file name says one thing wherever it sits (``__init__`` and ``__main__`` aside)."""
    where = defaultdict(list)
    for name in _modules():
        leaf = name.rpartition(".")[2]
        if name not in PACKAGES and leaf != "__main__":
            where[leaf].append(name)
    assert {leaf: names for leaf, names in where.items() if len(names) > 1} == {}


def test_no_two_modules_import_each_other():
    modules = _modules()
    graph = {name: _imports(name, tree, set(modules)) for name, tree in modules.items()}
    # a package's __init__ importing its own modules, which import a sibling through it, is not a cycle
    pairs = {
        tuple(sorted((a, b)))
        for a, targets in graph.items()
        for b in targets
        if a in graph.get(b, set()) and not (a.startswith(f"{b}.") or b.startswith(f"{a}."))
    }
    assert pairs == set()


def test_the_readmes_walk_of_one_snapshot_reads_six_files_that_exist():
    readme = (ROOT / "README.md").read_text()
    walk = readme[readme.index("Follow one snapshot") : readme.index("Beyond the snapshot")]
    files = re.findall(r"`([\w/.-]+\.(?:py|sql))`", walk)
    assert 0 < len(files) <= 6, files
    named = re.findall(r"`((?:dags|include|infra|plugins|tests)/[\w/.*-]+)`", readme)
    assert [f for f in named if not any(ROOT.glob(f))] == []


def test_each_cloudwatch_metric_name_is_spelled_in_one_place():
    """The writers, the stack's alarms and the overview page read MetricName; a name spelled
    again elsewhere would drift from it unnoticed."""
    from flightdata.resources import MetricName

    spelled = {value for key, value in vars(MetricName).items() if key.isupper()}
    home = PACKAGES["flightdata"] / "resources.py"
    again = {
        f"{path.relative_to(ROOT)}: {name}"
        for root in PACKAGES.values()
        for path in root.rglob("*.py")
        if path != home
        for name in spelled
        if f'"{name}"' in path.read_text()
    }
    assert again == set()
