"""Every notebook is covered, committed with fresh outputs, and carries no personal paths."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from pbc_lib.catalogue import notebook_paths, read_entry

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebook_paths(REPO)
PERSONAL = re.compile(r"/root/|/home/|/work/|/tmp/|/Users/|C:\\\\Users")


def test_every_notebook_is_collected_by_nbval_in_strict_mode():
    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--nbval" in ini["addopts"].split() and "--nbval-lax" not in ini["addopts"]
    assert "--nbval-sanitize-with" in ini["addopts"]
    for nb in NOTEBOOKS:
        top = nb.relative_to(REPO).parts[0]
        assert top in ini["testpaths"], f"{nb} is outside nbval's test paths"
    stray = [
        p
        for p in REPO.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and ".venv" not in p.parts and p not in NOTEBOOKS
    ]
    assert stray == [], f"notebooks outside workbooks/ and exercises/ would go untested: {stray}"


def test_sanitize_file_masks_ids_only():
    cfg = (REPO / "tests" / "nbval_sanitize.cfg").read_text()
    replaces = re.findall(r"^replace: (.+)$", cfg, flags=re.M)
    assert replaces and all(re.fullmatch(r".*(ID|ADDR).*", r) for r in replaces)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_executed_deterministic_and_clean(path):
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a workbook with no code cannot show an app"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-execute with `make notebooks`"
    assert "widgets" not in nb["metadata"], "saved widget state: re-execute with `make notebooks`"
    assert not any("execution" in c["metadata"] for c in code), "timestamps: use `make notebooks`"
    assert not PERSONAL.search(raw), (
        f"personal path in {path.name}: {PERSONAL.search(raw).group(0)}"
    )
    for cell in code:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", "a cell raised an error"
            assert out.get("name") != "stderr", (
                f"stderr output: {''.join(out.get('text', ''))[:200]}"
            )
    entry = read_entry(path, REPO)
    assert nb["metadata"].get("title") == entry.title
    assert isinstance(nb["metadata"]["pbc"].get("charts"), int)
