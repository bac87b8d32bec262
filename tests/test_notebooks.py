"""The notebooks in ``notebooks/`` run top to bottom, warning-free, and are committed clean.

Each notebook is executed with nbclient in a kernel of this interpreter (a kernelspec written to
a temporary Jupyter data folder, so whatever ``python3`` kernel the machine has does not count),
in a temporary working folder, with Jupyter's and IPython's own folders moved there too: the
tests write nothing to the home folder or the checkout. The notebooks hold their own ``assert``
cells (the tampered folder fails verification, the drifted columns are the ones simulated, ...),
so a notebook that runs to the end has shown what it says.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "01_quickstart",
    "02_monitoring_drift",
    "03_robustness_before_release",
    "04_securing_the_supply_chain",
    "05_data_checks",
    "06_privacy",
    "07_profiles_and_spark",
    "08_monitoring",
    "09_fairness_and_explanations",
    "10_release_evidence",
]
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; the slowest cell takes a few seconds here
KERNEL = "mlsentry-tests"

# Put around the executed copy (never into the committed file): a warning raised while the
# notebook runs fails the test, as pytest's ``filterwarnings = error`` does for the rest of the
# suite. The filters are restored after the last cell, because ipykernel 7 itself warns
# (PendingDeprecationWarning about ``do_shutdown``) when the kernel shuts down.
WARNINGS_AS_ERRORS = (
    "import warnings\n_saved_filters = warnings.filters[:]\nwarnings.simplefilter('error')"
)
RESTORE_WARNINGS = "warnings.filters[:] = _saved_filters"


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_every_notebook_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for i, cell in enumerate(code):
        assert cell.outputs == [], f"code cell {i} has outputs: strip them before committing"
        assert cell.execution_count is None, f"code cell {i} has an execution count"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.fixture
def isolated_kernel(tmp_path, monkeypatch):
    """A kernelspec for this interpreter, and every Jupyter/IPython folder under tmp_path."""
    jupyter = tmp_path / "jupyter"
    spec = jupyter / "data" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mlsentry tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(jupyter / "data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(jupyter / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter / "data"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(jupyter / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    # A user's audit log must not receive the notebooks' checks.
    monkeypatch.delenv("MLSENTRY_AUDIT_LOG", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    return work


def _stderr(nb) -> list[str]:
    return [
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]


def _html(nb) -> str:
    return "".join(
        out.get("data", {}).get("text/html", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )


def _execute(nb, work: Path) -> float:
    """Runs ``nb`` in place with warnings as errors, in ``work``; returns the seconds taken."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(WARNINGS_AS_ERRORS))
    nb.cells.append(nbformat.v4.new_code_cell(RESTORE_WARNINGS))
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(work)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return time.perf_counter() - start


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, isolated_kernel):
    work = isolated_kernel
    nb = _read(path)
    n_cells = len(nb.cells)
    seconds = _execute(nb, work)
    print(f"{path.stem}: {seconds:.1f} s")

    assert len(nb.cells) == n_cells + 2
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    assert _stderr(nb) == [], "the notebook wrote to stderr (a warning?)"
    # At least one report displayed itself inline as HTML.
    assert 'class="mls-report"' in _html(nb)
    # Files only under _out/<notebook name>/ of the working folder.
    assert sorted(p.name for p in work.iterdir()) == ["_out"]
    assert sorted(p.name for p in (work / "_out").iterdir()) == [path.stem]


def test_a_warning_in_a_notebook_fails_the_run(isolated_kernel):
    # The harness itself: a notebook that warns does not pass.
    source = "import warnings\nwarnings.warn('old API', DeprecationWarning)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="old API"):
        _execute(nb, isolated_kernel)
