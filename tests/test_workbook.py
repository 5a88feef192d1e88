"""Notebook helpers: header from metadata, the executor writing nbval-ready outputs; lint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from pbc_lib import workbook
from pbc_lib.catalogue import REPO_ROOT, read_entry
from pbc_lib.execute import execute_notebook


def test_header_comes_from_the_notebook_metadata():
    entry = read_entry(REPO_ROOT / "workbooks" / "00_start_here.ipynb")
    html = workbook.header("00_start_here.ipynb").data
    assert entry.title.replace("'", "&#x27;") in html
    assert f"About {entry.minutes} minutes" in html
    for outcome in entry.outcomes:
        assert outcome.replace("'", "&#x27;") in html
    assert 'href="../../../"' in html and "<style>" in html


def test_executor_writes_outputs_title_and_no_widget_state(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["pbc"] = {"title": "T", "summary": "S", "minutes": 1, "outcomes": [], "data": []}
    nb.metadata["widgets"] = {"stale": True}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import ipywidgets as w\nout = w.Output()\nwith out:\n    print(2)\nout"
        ),
        nbformat.v4.new_code_cell("print(6 * 7)"),
    ]
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    execute_notebook(path)
    done = nbformat.read(path, as_version=4)
    assert done["metadata"]["title"] == "T"
    assert "widgets" not in done["metadata"]
    assert done["cells"][1]["outputs"][0]["text"] == "42\n"
    # nbclient's Output-widget capture is off, so the print lands in the cell, as nbval sees it
    assert any(o.get("text") == "2\n" for o in done["cells"][0]["outputs"])


def test_code_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff, "ruff is a test dependency (pyproject [test])"
    result = subprocess.run(
        [ruff, "check", "pbc_lib", "tests", "benchmarks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_app_failing_in_a_kernel_prints_no_traceback_under_the_cell(tmp_path):
    """Logged error details must not reach stderr, which Voilà would show on the page."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from pbc_lib.apps.practice_explorer import PracticeExplorer\n"
            "app = PracticeExplorer(practice_id='XX1')\nprint(app.errors.message)"
        )
    ]
    path = tmp_path / "fail.ipynb"
    nbformat.write(nb, path)
    execute_notebook(path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [o.get("name") for o in outputs] == ["stdout"]
    assert "could not start" in outputs[0]["text"] and "Traceback" not in outputs[0]["text"]
