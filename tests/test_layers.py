"""Imports point down the layers (DESIGN.md); the simulator never imports the scheduler.

The check parses every module's imports (static, no execution) and maps each wfm module to
its layer. It is tested on a synthetic tree too, so it is known to fail when it should.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wfm", "forecasting", "scheduler", "api")
RANK = {"leaf": 0, "engines": 1, "services": 2, "adapters": 3}
# third-party packages the leaf layer may use (besides the standard library)
LEAF_THIRD_PARTY = {"numpy", "pandas"}
ENGINE_PACKAGES = ("forecasting", "scheduler", "wfm.staffing", "wfm.sim", "wfm.economics")


def layer_of(module: str) -> str | None:
    """The layer of a first-party module, or None for anything else."""
    if module in {"wfm.cli"} or module == "api" or module.startswith(("api.", "notebooks")):
        return "adapters"
    if module.startswith(("wfm.services", "wfm.db", "wfm.batch")):
        return "services"
    if any(module == p or module.startswith(p + ".") for p in ENGINE_PACKAGES):
        return "engines"
    if module in {"wfm", "wfm.contracts", "wfm.domain", "wfm.grid", "wfm.errors"}:
        return "leaf"
    if module.startswith("wfm."):
        return "unassigned"
    return None


def engine_of(module: str) -> str | None:
    return next((p for p in ENGINE_PACKAGES if module == p or module.startswith(p + ".")), None)


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}: {self.why}"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            # `from wfm import staffing` imports the submodule wfm.staffing
            out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return out


def check_import(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (None when it may)."""
    src = layer_of(importer)
    dst = layer_of(imported)
    if src is None:
        return None
    if src == "unassigned":
        return f"{importer} belongs to no layer; add it to DESIGN.md and this test"
    if importer.startswith("wfm.sim") and (
        imported == "scheduler" or imported.startswith("scheduler.")
    ):
        return "the simulator must never import the scheduler it checks"
    top = imported.split(".")[0]
    if dst is None:
        if src == "leaf" and top not in LEAF_THIRD_PARTY and not _is_stdlib(top):
            return f"the leaf layer may use only the standard library, numpy and pandas, not {top}"
        return None
    if dst == "unassigned":
        return None  # reported on the module itself
    if RANK[dst] > RANK[src]:
        return f"{src} may not import {dst} (imports point down only)"
    if src == "engines" and dst == "engines" and engine_of(importer) != engine_of(imported):
        return "an engine may import only the leaf layer, not another engine"
    if src == "adapters" and dst == "engines":
        return "adapters go through wfm.services, not straight to an engine"
    return None


def _is_stdlib(top: str) -> bool:
    import sys

    return top in sys.stdlib_module_names or top == "__future__"


def scan(root: Path) -> list[Violation]:
    found: list[Violation] = []
    paths = [p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))]
    for path in paths:
        module = module_name(path, root)
        own = layer_of(module)
        if own == "unassigned":
            found.append(Violation(module, module, 1, "module belongs to no layer"))
        for imported, line in imports_of(path.read_text(), module, path.name == "__init__.py"):
            why = check_import(module, imported)
            if why:
                found.append(Violation(module, imported, line, why))
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text()).get("cells", [])
        code = "\n".join("".join(c["source"]) for c in cells if c.get("cell_type") == "code")
        lines = code.splitlines()
        code = "\n".join(x for x in lines if not x.lstrip().startswith(("%", "!")))
        for imported, line in imports_of(code, "notebooks." + nb.stem, False):
            why = check_import("notebooks." + nb.stem, imported)
            if why:
                found.append(Violation(f"notebooks/{nb.name}", imported, line, why))
    return found


def test_the_tree_respects_the_layers() -> None:
    violations = scan(ROOT)
    assert not violations, "\n".join(str(v) for v in violations)


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("rel", "text", "why"),
    [
        ("wfm/sim/acd.py", "from scheduler import model\n", "never import the scheduler"),
        ("wfm/sim/acd.py", "import scheduler.model\n", "never import the scheduler"),
        ("wfm/grid.py", "from wfm.staffing import required_agents\n", "leaf may not import"),
        ("wfm/domain.py", "import wfm.services.staffing\n", "leaf may not import"),
        ("wfm/staffing/x.py", "from wfm.services import staffing\n", "engines may not import"),
        ("scheduler/m.py", "from wfm.staffing import required_agents\n", "another engine"),
        ("forecasting/m.py", "from wfm.cli import app\n", "engines may not import"),
        ("wfm/services/s.py", "from api import app\n", "services may not import"),
        ("wfm/cli.py", "from wfm.staffing import required_agents\n", "through wfm.services"),
        ("wfm/contracts.py", "import requests\n", "only the standard library"),
        ("wfm/staffing/y.py", "from ..services import staffing\n", "engines may not import"),
        ("wfm/newthing.py", "import os\n", "no layer"),
    ],
)
def test_the_check_catches_each_kind_of_violation(
    tmp_path: Path, rel: str, text: str, why: str
) -> None:
    for pkg in PACKAGES:
        _write(tmp_path, f"{pkg}/__init__.py", "")
    _write(tmp_path, rel, text)
    violations = scan(tmp_path)
    assert any(why in str(v) for v in violations), violations


def test_a_notebook_reaching_into_an_engine_is_caught(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        _write(tmp_path, f"{pkg}/__init__.py", "")
    nb = {
        "cells": [{"cell_type": "code", "source": ["%matplotlib inline\n", "import scheduler\n"]}]
    }
    _write(tmp_path, "notebooks/plan.ipynb", json.dumps(nb))
    assert any("through wfm.services" in str(v) for v in scan(tmp_path))


def test_allowed_imports_pass(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        _write(tmp_path, f"{pkg}/__init__.py", "")
    _write(tmp_path, "wfm/sim/acd.py", "from wfm.grid import Grid\nimport numpy\n")
    _write(tmp_path, "wfm/services/s.py", "from wfm.staffing import required_agents\n")
    _write(tmp_path, "api/app.py", "from wfm.services import staffing\nfrom wfm import contracts\n")
    assert scan(tmp_path) == []
