"""What a workbook's kernel loads: nothing heavy that it does not need.

A delegate's kernel is the unit of memory a server is sized by (issue 8: a workbook's kernel at most
1.2 times a bare kernel with pandas, altair and ipywidgets; ``benchmarks/hosting.py`` measures it).
Two large libraries are kept out of the kernels on purpose:

- **pandera** (~13 MiB): the committed tables are validated in full when their checksums are
  written (``python -m pbc_lib.data --write-manifest``) and by ``tests/test_data_loading.py``;
  a kernel loading them only converts types (``pbc_lib.data._load_committed``). A user's own file
  is still validated in full, and that import is lazy.
- **scipy** (~13 MiB for ``scipy.special``): only the exact funnel limits need it (workbooks 02
  and 04); workbooks 00, 01 and 03 must not load it.

Each test imports exactly what a workbook's code cells import (read from the notebook), loads every
committed table, and looks at ``sys.modules`` in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
from conftest import REPO

from pbc_lib import data

WORKBOOKS = sorted((REPO / "workbooks").glob("*.ipynb"))
NO_SCIPY = {"00_start_here", "01_indicative_budgets", "03_fundholding_vs_pbc"}


def imported_modules(notebook) -> list[str]:
    """Every module named by an import statement in the notebook's code cells."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    names: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
    return sorted(set(names))


def loaded_after(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        "import pandas, altair, ipywidgets\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from pbc_lib import data\n"
        "for n in data.table_names(): data.load_table(n)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_every_workbook_is_read():
    assert len(WORKBOOKS) >= 5
    assert "pbc_lib.workbook" in imported_modules(WORKBOOKS[0])


@pytest.mark.parametrize("notebook", WORKBOOKS, ids=[p.stem for p in WORKBOOKS])
def test_a_workbook_kernel_loads_no_heavy_library_it_does_not_need(notebook):
    modules = imported_modules(notebook)
    loaded = loaded_after(modules)
    assert "pbc_lib" in loaded and "pandas" in loaded  # the probe really ran
    assert "pandera" not in loaded, "pandera loaded: are data/MANIFEST.sha256's checksums current?"
    assert "vl_convert" not in loaded  # charts are drawn on demand (or by the render service)
    if notebook.stem in NO_SCIPY:
        assert "scipy" not in loaded, f"{notebook.stem} loads scipy"


def test_the_committed_data_match_the_manifest():
    problems = data.manifest_problems()
    assert not problems, (
        "; ".join(problems) + ". After changing a data file or sidecar, run "
        "`python -m pbc_lib.data --write-manifest` (it validates every table first)."
    )


def test_verified_tables_are_exactly_the_validated_ones():
    import pandas as pd

    for name in data.table_names():
        quick = data._load_committed(name)
        full = data._load_file(name, data.DATA_DIR / f"{name}.csv")
        pd.testing.assert_frame_equal(quick, full, check_exact=True)


def test_a_changed_file_is_validated_in_full(tmp_path, monkeypatch):
    """A committed file edited after the manifest was written is not trusted: its error shows."""
    for f in data.DATA_DIR.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    csv = tmp_path / "practices.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    column = lines[0].split(",").index("list_size")
    cells[column] = "-40"
    lines[1] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    data.clear_cache()
    try:
        assert data.manifest_problems(tmp_path) == [
            "practices.csv has changed since MANIFEST.sha256 was written"
        ]
        with pytest.raises(data.DataValidationError, match="list_size.*-40"):
            data.load_table("practices")
        with pytest.raises(data.DataValidationError):
            data.write_manifest(tmp_path)  # nothing written for a table that fails
        assert data.manifest_problems(tmp_path)  # the old manifest is untouched
    finally:
        monkeypatch.undo()
        data.clear_cache()


def test_writing_the_manifest_records_every_file(tmp_path):
    for f in data.DATA_DIR.iterdir():
        if f.name != data.MANIFEST_NAME:
            (tmp_path / f.name).write_bytes(f.read_bytes())
    assert data.manifest_problems(tmp_path)  # no manifest yet: every file unlisted
    data.write_manifest(tmp_path)
    assert data.manifest_problems(tmp_path) == []
    assert (tmp_path / data.MANIFEST_NAME).read_text() == (
        data.DATA_DIR / data.MANIFEST_NAME
    ).read_text()
