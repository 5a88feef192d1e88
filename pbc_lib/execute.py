"""Re-execute notebooks in place so their stored outputs are exactly what nbval will see.

``python -m pbc_lib.execute workbooks/*.ipynb exercises/*.ipynb`` (the README's ``make notebooks``).

nbclient, unlike nbval, captures what an ``ipywidgets.Output`` widget displays into widget state
instead of the cell's outputs, so references it writes fail nbval's strict mode; this executor turns
that capture off (tech-notes §3). It also drops saved widget state (Voilà re-executes anyway) and
copies the header title to ``metadata.title``, which the page's <title> uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXECUTION_TIMEOUT_S = 300


def execute_notebook(path: Path, timeout: int = EXECUTION_TIMEOUT_S) -> None:
    """Execute one notebook in its own folder and write it back with fresh outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=False,
        record_timing=False,  # no per-cell timestamps: a re-run changes only what really changed
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    client.widget_registry = {}  # no Output-widget capture: nbval has none
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    title = nb.metadata.get("pbc", {}).get("title")
    if title:
        nb.metadata["title"] = title
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-execute notebooks in place.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"Executing {path} ...", flush=True)
        execute_notebook(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
