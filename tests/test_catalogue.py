"""The catalogue reads header metadata; the README list and landing page follow it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pbc_lib import catalogue as cat

REPO = Path(__file__).resolve().parent.parent


def _write_nb(path: Path, meta: dict | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    md = {"pbc": meta} if meta is not None else {}
    path.write_text(json.dumps({"cells": [], "metadata": md, "nbformat": 4, "nbformat_minor": 5}))


GOOD = {"title": "T", "summary": "S", "minutes": 10, "outcomes": ["Explain X"], "data": ["a.csv"]}


def test_reads_entries_in_order_and_by_section(tmp_path):
    _write_nb(tmp_path / "workbooks" / "01_b.ipynb", GOOD | {"title": "B"})
    _write_nb(tmp_path / "workbooks" / "00_a.ipynb", GOOD | {"title": "A"})
    _write_nb(tmp_path / "exercises" / "01_b.ipynb", GOOD | {"title": "Ex"})
    grouped = cat.catalogue(tmp_path)
    assert [e.title for e in grouped["workbooks"]] == ["A", "B"]
    assert [e.path for e in grouped["exercises"]] == ["exercises/01_b.ipynb"]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (None, "has no header metadata"),
        ({k: v for k, v in GOOD.items() if k != "summary"}, "lacks summary"),
        (GOOD | {"minutes": 0}, "whole number above 0"),
        (GOOD | {"outcomes": "one"}, "list of text"),
    ],
)
def test_bad_metadata_gets_a_plain_message(tmp_path, meta, message):
    _write_nb(tmp_path / "workbooks" / "00_a.ipynb", meta)
    with pytest.raises(cat.CatalogueError, match=message):
        cat.catalogue(tmp_path)
    ctx = cat.landing_context(tmp_path)
    assert ctx["sections"] == [] and message.split()[0] in ctx["error"]


def test_landing_context_has_every_notebook():
    ctx = cat.landing_context(REPO)
    listed = [i["path"] for s in ctx["sections"] for i in s["items"]]
    assert listed == [p.relative_to(REPO).as_posix() for p in cat.notebook_paths(REPO)]


def test_readme_list_is_in_sync_with_the_notebooks():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert cat.readme_block(REPO) in text, "run `make readme` to regenerate the list"
