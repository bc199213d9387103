"""The notebook tour runs from start to end, so that it never goes stale."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from conftest import write_mnist

TOUR = Path(__file__).resolve().parents[1] / "notebooks" / "tour.ipynb"


def test_the_notebook_tour_runs_every_cell_without_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(write_mnist(tmp_path / "data")))  # the kernel inherits it
    notebook = nbformat.read(TOUR, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 2  # both figures were drawn
