"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel (nbclient), on the
bundled samples, against the current code: a notebook that no longer runs fails the tests."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def _execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    # kernel "python3" with argv ["python", ...] is started with sys.executable: this .venv
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": cwd}}
    )
    return client.execute()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    clock = time.perf_counter()
    try:
        done = _execute(nb, path.parent)
    except CellExecutionError as exc:
        raise AssertionError(f"{path.name}: a cell failed\n{exc}") from None
    errors = [
        (i, out.get("ename"))
        for i, cell in enumerate(done.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    print(f"{path.name}: {time.perf_counter() - clock:.1f} s")


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, (
                    f"{path.name} cell {i} has outputs; clear them before committing"
                )


def test_the_kernel_is_this_interpreter(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")]
    )
    done = _execute(nb, tmp_path)
    printed = "".join(o.get("text", "") for o in done.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


def test_the_planner_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"planner_walkthrough.ipynb", "whatif.ipynb"} <= names
