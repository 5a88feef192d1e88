"""Glossary search: type part of a word to find the terms a trainee meets in the workbooks.

The terms and definitions are in ``data/glossary.csv`` (written for the project from the cited
sources); this app filters them as you type.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from pbc_lib import data
from pbc_lib.apps.base import App
from pbc_lib.ui import guard, table_html

MAX_QUERY = 60  # characters: a longer query is a paste by mistake, not a search


class GlossaryError(ValueError):
    """A search the glossary cannot run."""


class GlossarySearch(App):
    """A search box and the matching glossary entries."""

    summary = "Glossary: every term used in the workbooks, searchable (interactive in Voilà)."

    def __init__(self) -> None:
        super().__init__()
        self.terms = data.load_table("glossary").sort_values(
            "term", key=lambda s: s.str.lower(), ignore_index=True
        )
        self.query = widgets.Text(
            placeholder="Type part of a term, e.g. budget",
            description="Search",
            continuous_update=True,
        )
        self.result = widgets.HTML()
        self.query.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox([self.query, self.errors, self.result])
        self.refresh()

    def matches(self, query: str) -> pd.DataFrame:
        """Terms whose name or definition contains ``query`` (case ignored); all for blank."""
        query = query.strip()
        if len(query) > MAX_QUERY:
            raise GlossaryError(
                f"Searches are limited to {MAX_QUERY} characters; "
                f"yours has {len(query)}. Try one word."
            )
        if not query:
            return self.terms
        hit = self.terms["term"].str.contains(query, case=False, regex=False) | self.terms[
            "definition"
        ].str.contains(query, case=False, regex=False)
        return self.terms.loc[hit]

    def refresh(self) -> None:
        with guard(self.errors, what="searching the glossary"):
            rows = self.matches(self.query.value)
            if rows.empty:
                self.result.value = (
                    f"<p>No terms match “{html.escape(self.query.value.strip())}”."
                    " Try a shorter or different word.</p>"
                )
                return
            table = rows[["term", "definition", "source"]].rename(
                columns={"term": "Term", "definition": "Meaning", "source": "Source"}
            )
            self.result.value = table_html(table, caption=f"{len(rows)} of {len(self.terms)} terms")
