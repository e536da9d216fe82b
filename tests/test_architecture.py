"""The layout's rules, checked: a torch-free DAG, thin scripts, no private names across modules,
no dataset names spelled outside the shard schema, and packages that import only downwards."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "videoxai"
# The packages from the bottom up (docs/architecture.md): a module may import its own package and
# those listed before it; cli and live sit on top.
LAYERS = ["core", "data", "motion", "models", "explain", "evaluation", "report", "ground_truth", "study", "live", "cli"]
# What the workflow imports while it builds the DAG (workflow/rules/common.smk).
DAG_MODULES = [
    "videoxai.core.batching",
    "videoxai.core.errors",
    "videoxai.core.headline",
    "videoxai.core.methods",
    "videoxai.core.outputs",
    "videoxai.core.study_config",
    "videoxai.data.listing",
]


def modules() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def imported(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every ``from videoxai... import names`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("videoxai"):
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def test_building_the_dag_imports_no_torch():
    code = (
        f"import sys; import {', '.join(DAG_MODULES)}; "
        "heavy = [name for name in ('torch', 'zennit', 'seaborn', 'matplotlib') if name in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the DAG imports {result.stdout.strip()}"
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text(encoding="utf-8")
    used = set(re.findall(r"^from (videoxai[\w.]*) import", common, re.M))
    assert used <= set(DAG_MODULES), used - set(DAG_MODULES)


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in [*modules(), *sorted((ROOT / "scripts").glob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))]:
        for module, names, line in imported(path):
            private = [name for name in names if name.startswith("_") and name != "__version__"]
            if private:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {private} from {module}")
    assert not offenders, "\n".join(offenders)


def test_packages_import_only_downwards():
    offenders = []
    for path in modules():
        relative = path.relative_to(SOURCE).parts
        if len(relative) < 2:
            continue
        own = LAYERS.index(relative[0])
        for module, _, line in imported(path):
            parts = module.split(".")
            if len(parts) < 2 or parts[1] not in LAYERS:
                continue
            if LAYERS.index(parts[1]) > own and not (relative[0] in ("cli", "live") and parts[1] in ("cli", "live")):
                offenders.append(f"{path.relative_to(ROOT)}:{line} ({relative[0]}) imports {module}")
    assert not offenders, "\n".join(offenders)


def test_dataset_names_come_from_the_shard_schema():
    # a dataset name spelled by hand: an f-string key "{method}/..." or "static_control/..."
    pattern = re.compile(r"""f["']\{(method|m|name)\}/|["']static_control/\{|\{PREFIX\}/""")
    offenders = []
    for path in [*modules(), *sorted((ROOT / "scripts").glob("*.py"))]:
        if path.name == "shards.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and "maxima" not in line and "voxel" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_workflow_script_is_one_library_call():
    for path in sorted((ROOT / "scripts").glob("*.py")):
        if path.name == "_stage.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # everything at module level is imports, the docstring, a params alias and one with-block
        loops = [node for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.If))]
        assert not loops, f"{path.name} holds logic ({type(loops[0]).__name__} at line {loops[0].lineno})"
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in ("logged", "str")
        ]
        library = {name for module, names, _ in imported(path) for name in names}
        assert [call.func.id for call in calls if call.func.id in library], f"{path.name} calls no library function"
        statements = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr))]
        assert len(statements) <= 3, f"{path.name}: {len(statements)} top-level statements"
