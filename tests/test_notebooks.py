"""The notebooks run top to bottom on the bundled model and data, and their own checks hold.

Each notebook asserts what it shows (tags carry their evidence offsets, a stricter ``min_score`` gives
fewer tags, the evaluation matches the model's stored metrics, recalibration shares the weights), so a
notebook that runs here is one whose outputs a reader can trust.  The committed copies keep their
outputs for reading on a code host; they are executed in memory here and never rewritten.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_tag_comments.ipynb", "02_evaluate_and_adapt.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # every code cell ran and the last one produced output
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert code[-1].outputs
