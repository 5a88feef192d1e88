"""Helpers a notebook calls in its first cells: the page style and the header from its metadata.

The header (title, summary, minutes, learning outcomes, data used) is read from the notebook's own
``metadata["pbc"]`` through :mod:`pbc_lib.catalogue`, the same place the landing page and the README
list read it, so the three cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict

from IPython.display import HTML

from pbc_lib.catalogue import REPO_ROOT, read_entry
from pbc_lib.ui import header_html, page_css

BACK_LINK = '<p class="pbc-back"><a href="../../../">All workbooks</a></p>'


def header(notebook: str, folder: str = "workbooks") -> HTML:
    """The page style, a link back to the landing page, and the header for ``folder/notebook``."""
    entry = read_entry(REPO_ROOT / folder / notebook, REPO_ROOT)
    return HTML(page_css() + BACK_LINK + header_html(asdict(entry)))
