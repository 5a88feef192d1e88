"""Export every workbook to self-contained HTML: the offline fallback that needs no server.

``python -m pbc_lib.export [--out DIR] [notebooks...]`` (default: every notebook of the catalogue,
into ``build/static/``, keeping the ``workbooks/``, ``exercises/`` and ``exercises/solutions/``
folders, plus an ``index.html`` landing page). Each page opens from a file or any static host:
no script, no stylesheet or font from anywhere, charts as inline SVG.

How it works. Each notebook runs in a fresh kernel with nbclient, as :mod:`pbc_lib.execute` runs
it (no widget capture, no timing). When every cell has run, one more cell, added by the exporter
and never written anywhere, asks the kernel for a static snapshot of every widget the notebook
displayed (:func:`widget_html`), in the state the page would open in: the default scenario. The
exporter then writes one HTML page per notebook with the code hidden (as Voilà hides it), the
Markdown rendered with nbconvert's own filter (what Voilà uses), each output's richest static
form (HTML, SVG, PNG, plain text) and every widget view replaced by its snapshot.

A snapshot is read-only: a slider is a disabled range input with its value written beside it, a
list shows its current choice, a button is disabled, an answer box is empty and disabled, and a
chart's "Show as table" becomes a ``<details>`` element, which opens without any script. A
banner at the top of every page says so. Text that is not ours (a control's value, plain-text
output) is HTML-escaped; markup from ``pbc_lib`` (chart figures, tables, headers) is trusted.

Nothing half-finished is written: the pages are built in a temporary folder next to the output
and moved into place only when every notebook has exported. A notebook that fails gives a
plain-English message naming it, and the command exits with status 1.

Sources: nbclient's ``NotebookClient`` (https://nbclient.readthedocs.io/), nbconvert's
``markdown2html_mistune`` filter (https://nbconvert.readthedocs.io/), the ipywidgets widget
model (https://ipywidgets.readthedocs.io/), and the HTML ``<details>`` element
(https://html.spec.whatwg.org/multipage/interactive-elements.html#the-details-element).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import ipywidgets as widgets

from pbc_lib.catalogue import REPO_ROOT, SECTIONS, CatalogueError, notebook_paths, read_entry
from pbc_lib.ui import ChartView, page_css

DEFAULT_OUT = REPO_ROOT / "build" / "static"
EXECUTION_TIMEOUT_S = 300
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SNAPSHOT_MIME = "application/vnd.pbc.static-snapshots+json"
MARKER = ".pbc-static-export"  # marks a folder this module wrote, so it may be replaced
BANNER_TEXT = (
    "Offline copy: the controls show the default scenario and do not respond. "
    "For the interactive version open this workbook in Voilà."
)
VOILA_BACK_LINK = 'href="../../../">All workbooks</a>'  # pbc_lib.workbook.BACK_LINK's link

BASE_CSS = """
body{font-family:"Frutiger",Arial,"Helvetica Neue",Helvetica,sans-serif;color:#212b32;
 background:#fff;margin:0;line-height:1.5}
.pbc-offline-banner{background:#fff4c2;border-bottom:4px solid #ffb81c;color:#212b32;
 padding:10px 16px}
.pbc-offline-banner p{max-width:1100px;margin:0 auto;font-weight:bold}
main.pbc-static-page{max-width:1100px;margin:0 auto;padding:8px 12px 48px}
.pbc-cell{margin:0 0 0.75em 0}
.pbc-markdown img{max-width:100%}
.pbc-markdown .anchor-link{display:none}
.pbc-back a,.pbc-markdown a,.pbc-index a{color:#005eb8}
a:focus{outline:3px solid #ffb81c;background:#ffb81c;color:#212b32}
pre.pbc-stream,pre.pbc-text{white-space:pre-wrap;background:#f0f4f5;padding:8px;margin:0.25em 0;
 font-size:0.9rem}
.pbc-static-vbox{display:flex;flex-direction:column;gap:4px;min-width:0}
.pbc-static-hbox{display:flex;flex-flow:row wrap;gap:4px 24px;align-items:flex-start}
.pbc-static-control{display:flex;flex-wrap:wrap;align-items:center;gap:4px 10px;margin:4px 0}
.pbc-static-control input,.pbc-static-control select,.pbc-static-control textarea{max-width:100%;
 font:inherit}
.pbc-static-control select[disabled],.pbc-static-control input[type=text][disabled],
.pbc-static-control textarea[disabled]{color:#212b32;background:#f0f4f5;border:1px solid #768692;
 opacity:1;padding:2px 6px}
.pbc-static-control output{font-weight:bold}
.pbc-static-options{list-style:none;display:flex;flex-wrap:wrap;gap:4px;padding:0;margin:0}
.pbc-static-options li{border:1px solid #aeb7bd;padding:2px 10px;color:#425563}
.pbc-static-options li.pbc-static-selected{border-color:#005eb8;background:#005eb8;color:#fff}
.pbc-static-radio{list-style:none;padding:0;margin:0}
button[disabled],input[disabled],select[disabled],textarea[disabled]{cursor:not-allowed}
button.pbc-static-button{font:inherit;padding:4px 14px;margin:4px 0}
.pbc-static-vbox>button{align-self:flex-start}
details.pbc-static-table{margin:0 0 1em 0}
details.pbc-static-table summary{cursor:pointer;color:#005eb8;text-decoration:underline;
 font-weight:bold}
details.pbc-static-table summary:focus{outline:3px solid #ffb81c;background:#ffb81c;color:#212b32}
.pbc-static-tab-title{font-size:1.1rem;margin:0.75em 0 0.25em 0}
"""

INDEX_CSS = """
body{font-family:"Frutiger",Arial,"Helvetica Neue",Helvetica,sans-serif;color:#212b32;
 background:#f0f4f5;margin:0;line-height:1.5}
.pbc-offline-banner{background:#fff4c2;border-bottom:4px solid #ffb81c;padding:10px 16px}
.pbc-offline-banner p{max-width:1000px;margin:0 auto;font-weight:bold}
header{background:#005eb8;color:#fff;padding:24px 16px}
header h1{margin:0 auto;max-width:1000px;font-size:2rem}
header p{margin:8px auto 0;max-width:1000px;font-size:1.1rem}
main{max-width:1000px;margin:0 auto;padding:16px}
h2{font-size:1.5rem;margin:24px 0 8px}
.pbc-cards{list-style:none;padding:0;margin:0;display:grid;gap:16px;
 grid-template-columns:repeat(auto-fill,minmax(290px,1fr))}
.pbc-card{background:#fff;border-top:4px solid #005eb8;padding:16px}
.pbc-card h3{margin:0 0 8px;font-size:1.2rem}
.pbc-card a{color:#005eb8}
.pbc-card a:focus{outline:3px solid #ffb81c;background:#ffb81c;color:#212b32}
.pbc-card .pbc-minutes{color:#425563;font-size:.95rem;margin:0 0 8px}
.pbc-card ul{padding-left:20px;margin:8px 0 0}
footer{max-width:1000px;margin:0 auto;padding:16px;color:#425563;font-size:.9rem}
"""
INDEX_BANNER = (
    "Offline copy: the controls in these pages show the default scenario and do not respond. "
    "For the interactive version open the workbooks in Voilà."
)
# Sections that work only with a server (teams and the facilitator share a live store).
SERVER_ONLY = ("workbooks/workshop",)
SERVER_ONLY_NOTE = (
    "Workshop mode (the facilitator's console and the team app) is not in this offline copy: "
    "teams and the facilitator share one live store, so it needs a running server. Serve the "
    "workbooks (make serve) to run a workshop."
)


def server_only(path: Path) -> bool:
    """Whether a notebook is in a section that needs a server (:data:`SERVER_ONLY`)."""
    folder = Path(path).resolve().parent
    return any(folder == (REPO_ROOT / section).resolve() for section in SERVER_ONLY)


def exportable_paths() -> list[Path]:
    """Every catalogue notebook that works offline: all but the server-only sections."""
    return [p for p in notebook_paths() if not server_only(p)]


class ExportError(RuntimeError):
    """A notebook could not be exported, or the output folder cannot be written (plain English)."""


# --- Kernel side: a static snapshot of a widget ---------------------------------------------------
esc = html.escape


def _hidden(widget: widgets.Widget) -> bool:
    layout = getattr(widget, "layout", None)
    if layout is None:
        return False
    return layout.display == "none" or layout.visibility == "hidden"


def _classes(widget: widgets.Widget, *extra: str) -> str:
    names = [*extra, *getattr(widget, "_dom_classes", ())]
    return esc(" ".join(n for n in names if n))


_CSS_LENGTH = re.compile(r"^\d+(?:\.\d+)?(?:px|em|rem|%)$")


def _label(widget: widgets.Widget) -> str:
    """The description, as wide as the widget's ``style.description_width`` asks (when it is a
    plain length; "initial" means as wide as the text)."""
    text = getattr(widget, "description", "") or ""
    if not text:
        return ""
    width = getattr(getattr(widget, "style", None), "description_width", "") or ""
    size = f' style="min-width:{width}"' if _CSS_LENGTH.match(width) else ""
    return f'<span class="pbc-static-label"{size}>{esc(text)}</span>'


def _control(widget: widgets.Widget, body: str, tag: str = "label") -> str:
    """A control's description and its read-only rendering, in one labelled block."""
    return f'<{tag} class="{_classes(widget, "pbc-static-control")}">{_label(widget)}{body}</{tag}>'


def _readout(widget: widgets.Widget, value: Any) -> str:
    """A slider's readout as Voilà shows it, using its readout format where Python can."""
    if isinstance(value, tuple | list):
        return " \u2013 ".join(_readout(widget, v) for v in value)
    fmt = getattr(widget, "readout_format", "") or ""
    try:
        return format(value, fmt) if fmt else str(value)
    except (TypeError, ValueError):  # a d3 format Python does not know ("$", "s"): plain value
        return str(value)


def _attr_number(x: Any) -> str:
    return esc(repr(x) if isinstance(x, float) else str(x), quote=True)


def _slider(widget: widgets.Widget) -> str:
    value = widget.value
    readout = f"<output>{esc(_readout(widget, value))}</output>"
    if isinstance(value, tuple | list):  # a range slider: the two ends, written out
        return _control(widget, readout, tag="div")
    attrs = " ".join(
        f'{name}="{_attr_number(getattr(widget, name))}"'
        for name in ("min", "max", "step", "value")
    )
    return _control(widget, f'<input type="range" {attrs} disabled>{readout}')


def _selection_slider(widget: widgets.Widget) -> str:
    labels = getattr(widget, "_options_labels", ()) or ()
    label = widget.label
    if isinstance(label, tuple | list):
        return _control(widget, f"<output>{esc(' – '.join(map(str, label)))}</output>", tag="div")
    index = widget.index if widget.index is not None else 0
    top = max(len(labels) - 1, 0)
    return _control(
        widget,
        f'<input type="range" min="0" max="{top}" step="1" value="{index}" disabled>'
        f"<output>{esc(str(label))}</output>",
    )


def _select(widget: widgets.Widget) -> str:
    labels = getattr(widget, "_options_labels", ()) or ()
    chosen = widget.index
    options = "".join(
        f"<option{' selected' if i == chosen else ''}>{esc(str(text))}</option>"
        for i, text in enumerate(labels)
    )
    return _control(widget, f"<select disabled>{options}</select>")


def _toggle_buttons(widget: widgets.Widget) -> str:
    labels = getattr(widget, "_options_labels", ()) or ()
    items = []
    for i, text in enumerate(labels):
        picked = i == widget.index
        cls = ' class="pbc-static-selected"' if picked else ""
        current = ' aria-current="true"' if picked else ""
        items.append(f"<li{cls}{current}>{esc(str(text))}</li>")
    return _control(widget, f'<ul class="pbc-static-options">{"".join(items)}</ul>', tag="div")


def _radio_buttons(widget: widgets.Widget) -> str:
    labels = getattr(widget, "_options_labels", ()) or ()
    items = "".join(
        f'<li><label><input type="radio" disabled{" checked" if i == widget.index else ""}> '
        f"{esc(str(text))}</label></li>"
        for i, text in enumerate(labels)
    )
    return _control(widget, f'<ul class="pbc-static-radio">{items}</ul>', tag="div")


def _text_box(widget: widgets.Widget) -> str:
    value = esc(str(widget.value if widget.value is not None else ""), quote=True)
    hint = esc(getattr(widget, "placeholder", "") or "", quote=True)
    if isinstance(widget, widgets.Textarea):
        return _control(widget, f'<textarea disabled placeholder="{hint}">{value}</textarea>')
    return _control(widget, f'<input type="text" value="{value}" placeholder="{hint}" disabled>')


def _button(widget: widgets.Widget, pressed: bool | None = None) -> str:
    text = widget.description or ""
    name = "" if text else f' aria-label="{esc(widget.tooltip or "Button", quote=True)}"'
    state = "" if pressed is None else f' aria-pressed="{str(pressed).lower()}"'
    return (
        f'<button type="button" class="{_classes(widget, "pbc-static-button")}" disabled'
        f"{name}{state}>{esc(text)}</button>"
    )


def _children(widget: widgets.Widget, lookup: Callable[[str], Any] | None) -> str:
    return "".join(widget_html(child, lookup) for child in widget.children)


def widget_html(widget: Any, lookup: Callable[[str], Any] | None = None) -> str:
    """A static, read-only HTML rendering of ``widget`` and everything inside it, as it is now.

    Parameters
    ----------
    widget
        Any ipywidgets widget (or something else, which gives ``""``).
    lookup
        Finds a widget by model id, for widget views shown inside an ``Output`` widget.

    Returns
    -------
    str
        HTML with no script. HTML widgets' values are inserted as they are (``pbc_lib`` builds
        that markup); every other text (descriptions, values, options) is escaped. Hidden
        widgets (``layout.display == "none"``) give ``""``. A :class:`~pbc_lib.ui.ChartView`
        gives its figure and its table inside a closed ``<details>`` ("Show as table").
    """
    if not isinstance(widget, widgets.Widget) or _hidden(widget):
        return ""
    if isinstance(widget, ChartView):
        figure = widget.figure.value if not _hidden(widget.figure) else ""
        table = ""
        if widget.table_markup:
            opened = " open" if widget.table_visible else ""
            table = (
                f'<details class="pbc-static-table"{opened}><summary>Show as table</summary>'
                f"{widget.table_markup}</details>"
            )
        return f'<div class="{_classes(widget, "pbc-static-vbox")}">{figure}{table}</div>'
    if isinstance(widget, widgets.Output):
        inner = "".join(output_html(o, lookup) for o in widget.outputs)
        return f'<div class="{_classes(widget)}">{inner}</div>'
    if isinstance(widget, widgets.Stack):
        index = widget.selected_index
        shown = widget.children[index] if index is not None else None
        return widget_html(shown, lookup) if shown is not None else ""
    if isinstance(widget, widgets.Tab | widgets.Accordion):
        titles = list(getattr(widget, "titles", ()) or ())
        panels = []
        for i, child in enumerate(widget.children):
            title = titles[i] if i < len(titles) and titles[i] else f"Part {i + 1}"
            body = widget_html(child, lookup)
            panels.append(
                f'<section><h3 class="pbc-static-tab-title">{esc(str(title))}</h3>{body}</section>'
            )
        return f'<div class="{_classes(widget, "pbc-static-vbox")}">{"".join(panels)}</div>'
    if isinstance(widget, widgets.Box):
        kind = "pbc-static-hbox" if isinstance(widget, widgets.HBox) else "pbc-static-vbox"
        return f'<div class="{_classes(widget, kind)}">{_children(widget, lookup)}</div>'
    if isinstance(widget, widgets.HTML | widgets.HTMLMath):
        label = _label(widget)
        body = f'<div class="{_classes(widget)}">{widget.value}</div>'
        return f'<div class="pbc-static-control">{label}{body}</div>' if label else body
    if isinstance(widget, widgets.Label):
        return f'<span class="{_classes(widget)}">{esc(str(widget.value))}</span>'
    if isinstance(widget, widgets.Button):
        return _button(widget)
    if isinstance(widget, widgets.ToggleButton):
        return _button(widget, pressed=bool(widget.value))
    if isinstance(widget, widgets.Checkbox):
        checked = " checked" if widget.value else ""
        return _control(widget, f'<input type="checkbox" disabled{checked}>')
    if isinstance(widget, widgets.SelectionSlider | widgets.SelectionRangeSlider):
        return _selection_slider(widget)
    if isinstance(widget, widgets.ToggleButtons):
        return _toggle_buttons(widget)
    if isinstance(widget, widgets.RadioButtons):
        return _radio_buttons(widget)
    if isinstance(widget, widgets.Dropdown | widgets.Select | widgets.SelectMultiple):
        return _select(widget)
    if widget.has_trait("readout") and widget.has_trait("value") and widget.has_trait("max"):
        return _slider(widget)  # Int/Float/FloatLog sliders and range sliders
    if isinstance(widget, widgets.Text | widgets.Textarea | widgets.Password):
        if isinstance(widget, widgets.Password):
            return _control(widget, '<input type="password" value="" disabled>')
        return _text_box(widget)
    if isinstance(widget, widgets.ValueWidget):  # number boxes, date pickers, anything else
        value = widget.value
        return _control(
            widget,
            f'<input type="text" value="{esc("" if value is None else str(value))}" disabled>',
        )
    return ""


def _instance(model_id: str) -> Any:
    from ipywidgets.widgets import widget as widget_module

    return widget_module._instances.get(model_id)


def show_snapshots(model_ids: Sequence[str]) -> None:
    """Display the static snapshot of each live widget (by model id) as one JSON output.

    Runs in the notebook's kernel, in a cell the exporter adds after the last one. A model id
    with no live widget maps to ``None`` (the exporter reports it).
    """
    from IPython.display import display

    found = {}
    for model_id in model_ids:
        widget = _instance(model_id)
        found[model_id] = None if widget is None else widget_html(widget, _instance)
    display({SNAPSHOT_MIME: found}, raw=True)


def _snapshot_cell_source(model_ids: Sequence[str]) -> str:
    return (
        "from pbc_lib.export import show_snapshots as _pbc_show_snapshots\n"
        f"_pbc_show_snapshots({list(model_ids)!r})\n"
    )


# --- Exporter side: outputs, Markdown and pages -------------------------------------------------
def output_html(output: Mapping[str, Any], lookup: Callable[[str], Any] | None = None) -> str:
    """One cell output as static HTML: its richest static form, or its widget's snapshot.

    ``lookup`` maps a widget model id to the widget (kernel side) or to its snapshot HTML
    (exporter side). stderr streams are left out, as Voilà leaves them out of a page.
    """
    kind = output.get("output_type")
    if kind == "stream":
        if output.get("name") != "stdout":
            return ""
        return f'<pre class="pbc-stream">{esc(str(output.get("text", "")))}</pre>'
    if kind == "error":
        return f'<pre class="pbc-text">{esc(str(output.get("ename", "Error")))}</pre>'
    data = output.get("data", {}) or {}
    if WIDGET_MIME in data:
        model_id = data[WIDGET_MIME].get("model_id", "")
        found = lookup(model_id) if lookup else None
        if isinstance(found, widgets.Widget):
            return widget_html(found, lookup)
        if isinstance(found, str):
            return found
        raise ExportError(f"a widget on the page (model {model_id}) has no static snapshot")
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            payload = re.sub(r"\s+", "", _text(data[mime]))
            return f'<img src="data:{mime};base64,{esc(payload, quote=True)}" alt="">'
    if "text/markdown" in data:
        return markdown_html(_text(data["text/markdown"]))
    if "text/plain" in data:
        return f'<pre class="pbc-text">{esc(_text(data["text/plain"]))}</pre>'
    return ""


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def markdown_html(source: str) -> str:
    """Markdown to HTML with nbconvert's filter, the one Voilà renders markdown cells with."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


_IPYNB_LINK = re.compile(r'href="([^":#?]+\.ipynb)((?:#[^"]*)?)"')


def _rewrite_links(markup: str, page: PurePosixPath, exported: set[str]) -> str:
    """Point the header's "All workbooks" link at index.html, and links to exported notebooks
    at their pages."""
    up = "../" * (len(page.parts) - 1)
    markup = markup.replace(VOILA_BACK_LINK, f'href="{up}index.html">All workbooks</a>')

    def to_page(match: re.Match[str]) -> str:
        target = _normalise(page.parent / match.group(1))
        if target is None or target not in exported:
            return match.group(0)
        return f'href="{match.group(1)[: -len(".ipynb")]}.html{match.group(2)}"'

    return _IPYNB_LINK.sub(to_page, markup)


def _normalise(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


_RESOURCE = re.compile(
    r"<(?P<tag>[a-zA-Z][\w-]*)\b(?P<attrs>[^>]*)>|url\(\s*['\"]?(?P<url>[^'\")]*)|(?P<imp>@import)"
)
_ATTR = re.compile(
    r"(?:^|[\s:])(src|href|srcset|action|poster|data|background)\s*=\s*"
    r"(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
    re.I,
)


def external_references(markup: str) -> list[str]:
    """Everything in ``markup`` a browser would fetch from outside the page itself.

    Allowed: ``data:`` URIs and ``#fragment`` references anywhere, and any ``<a href>`` (a link
    the reader may follow, such as a cited source). Anything else (a ``<script>``, a stylesheet
    or image by address, ``url(...)`` in CSS, ``@import``) is listed.
    """
    found: list[str] = []
    for match in _RESOURCE.finditer(markup):
        if match.group("imp"):
            found.append("@import")
            continue
        if match.group("url") is not None:
            url = match.group("url").strip()
            if not url.startswith(("data:", "#")):
                found.append(f"url({url})")
            continue
        tag = match.group("tag").lower()
        if tag == "script":
            found.append("<script>")
        if tag == "a":
            continue
        for attr in _ATTR.finditer(match.group("attrs")):
            value = next(v for v in attr.groups()[1:] if v is not None).strip()
            if not value.startswith(("data:", "#")):
                found.append(f"<{tag} {attr.group(1)}={value}>")
    return found


@dataclass(frozen=True)
class Page:
    """One exported notebook: where it came from, where its page goes, and its catalogue entry."""

    source: Path
    rel: PurePosixPath  # the notebook's path relative to the repository (or just its name)
    title: str
    summary: str
    minutes: int
    outcomes: tuple[str, ...]

    @property
    def html_rel(self) -> PurePosixPath:
        return self.rel.with_suffix(".html")


def _page_for(path: Path) -> Page:
    path = path.resolve()
    try:
        root = REPO_ROOT if path.is_relative_to(REPO_ROOT.resolve()) else path.parent
        entry = read_entry(path, root)
    except CatalogueError as exc:
        raise ExportError(str(exc)) from exc
    return Page(
        path,
        PurePosixPath(entry.path),
        entry.title,
        entry.summary,
        entry.minutes,
        tuple(entry.outcomes),
    )


def run_notebook(path: Path, timeout: int = EXECUTION_TIMEOUT_S) -> tuple[Any, dict[str, str]]:
    """Execute a notebook in a fresh kernel; return it and the snapshot of every widget it shows.

    Raises
    ------
    ExportError
        If a cell fails or times out, or a widget view has no snapshot.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=False,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.widget_registry = {}  # as pbc_lib.execute: no Output-widget capture
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            ids = [
                out["data"][WIDGET_MIME]["model_id"]
                for cell in nb.cells
                for out in cell.get("outputs", [])
                if WIDGET_MIME in out.get("data", {})
            ]
            probe = nbformat.v4.new_code_cell(_snapshot_cell_source(ids))
            nb.cells.append(probe)
            try:
                client.execute_cell(probe, len(nb.cells) - 1)
            finally:
                nb.cells.pop()
    except CellExecutionError as exc:
        what = f"{exc.ename}: {exc.evalue}" if getattr(exc, "ename", "") else "an error"
        raise ExportError(f"a cell failed while running ({what})") from exc
    except TimeoutError as exc:
        raise ExportError(f"a cell took longer than {timeout} seconds") from exc
    except Exception as exc:  # noqa: BLE001 - a dead kernel, a missing kernel: said plainly
        raise ExportError(f"the notebook could not be run ({type(exc).__name__}: {exc})") from exc
    bundles = [o for o in probe.outputs if SNAPSHOT_MIME in o.get("data", {})]
    if len(bundles) != 1:
        raise ExportError("the widget snapshots could not be taken")
    snapshots = bundles[0]["data"][SNAPSHOT_MIME]
    missing = [k for k, v in snapshots.items() if not isinstance(v, str)]
    if missing:
        raise ExportError(f"{len(missing)} widget(s) on the page were gone before the snapshot")
    return nb, snapshots


def notebook_page(
    nb: Any, snapshots: Mapping[str, str], page: Page, exported: Iterable[str] = ()
) -> str:
    """The self-contained HTML page for an executed notebook and its widget snapshots."""
    exported_set = set(exported) | {page.rel.as_posix()}
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cells.append(f'<div class="pbc-cell pbc-markdown">{markdown_html(cell.source)}</div>')
        elif cell.cell_type == "code":
            parts = [output_html(o, snapshots.get) for o in cell.get("outputs", [])]
            body = "".join(parts)
            if body:
                cells.append(f'<div class="pbc-cell pbc-output">{body}</div>')
    body = _rewrite_links("\n".join(cells), page.rel, exported_set)
    style = page_css()
    head_style = "" if style in body else style
    title = nb.metadata.get("title") or page.title
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="pbc_lib.export">\n'
        f"<title>{esc(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f"<style>{BASE_CSS}</style>\n{head_style}\n</head>\n<body>\n"
        f'<div class="pbc-offline-banner" role="note"><p>{esc(BANNER_TEXT)}</p></div>\n'
        f'<main class="pbc-static-page">\n{body}\n</main>\n</body>\n</html>\n'
    )


def index_page(pages: Sequence[Page]) -> str:
    """The landing page: every exported notebook by section, with title, minutes and summary."""
    sections: list[tuple[str, str, list[Page]]] = []
    placed: set[PurePosixPath] = set()
    for folder, heading, _ in SECTIONS:
        items = [p for p in pages if p.rel.parent.as_posix() == folder]
        placed.update(p.rel for p in items)
        if items:
            sections.append((folder.replace("/", "-"), heading, items))
    others = [p for p in pages if p.rel not in placed]
    if others:
        sections.append(("other", "Other notebooks", others))
    parts = []
    for key, heading, items in sections:
        cards = []
        for p in items:
            outcomes = "".join(f"<li>{esc(o)}</li>" for o in p.outcomes)
            details = (
                f"<details><summary>What you will be able to do</summary><ul>{outcomes}</ul>"
                "</details>"
                if outcomes
                else ""
            )
            cards.append(
                f'<li class="pbc-card" data-path="{esc(p.rel.as_posix())}">'
                f'<h3><a href="{esc(p.html_rel.as_posix())}">{esc(p.title)}</a></h3>'
                f'<p class="pbc-minutes">About {p.minutes} minutes</p>'
                f"<p>{esc(p.summary)}</p>{details}</li>"
            )
        parts.append(
            f'<section aria-labelledby="sec-{key}"><h2 id="sec-{key}">{esc(heading)}</h2>'
            f'<ul class="pbc-cards">{"".join(cards)}</ul></section>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="pbc_lib.export">\n'
        "<title>PbC Workbooks: practice-based commissioning in the NHS (offline copy)</title>\n"
        f'<link rel="icon" href="data:,">\n<style>{INDEX_CSS}</style>\n</head>\n<body>\n'
        f'<div class="pbc-offline-banner" role="note"><p>{esc(INDEX_BANNER)}</p></div>\n'
        "<header><h1>PbC Workbooks</h1><p>Workbooks on practice-based commissioning in the "
        "English NHS, 2004 to 2009: read each one, and see every chart and table in its "
        "default scenario.</p></header>\n"
        f'<main class="pbc-index">{"".join(parts)}'
        f'<p class="pbc-server-only">{esc(SERVER_ONLY_NOTE)}</p></main>\n'
        '<footer><p>All practices, people and figures for "Wyndmoor PCT" are fictional, drawn '
        "by a seeded generator calibrated to published national figures; every chart names its "
        "sources.</p></footer>\n</body>\n</html>\n"
    )


def _check_out_dir(out: Path) -> None:
    """Refuse to replace a folder this module did not write (``--out .`` must not wipe a repo)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ExportError(
            f"{out} already exists and is not an earlier offline export, so it was left alone. "
            "Choose another folder with --out, or remove it first."
        )


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished build into place; an earlier export there is removed only afterwards."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export(
    notebooks: Sequence[Path],
    out: Path = DEFAULT_OUT,
    *,
    timeout: int = EXECUTION_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Export ``notebooks`` and an index page into ``out``; return the files written.

    Raises
    ------
    ExportError
        Naming the notebook that failed and why; ``out`` is then left exactly as it was.
    """
    if not notebooks:
        raise ExportError("No notebooks to export.")
    out = Path(out).resolve()
    _check_out_dir(out)
    pages = []
    for path in notebooks:
        if not Path(path).is_file():
            raise ExportError(f"{path}: no such notebook.")
        if server_only(Path(path)):
            raise ExportError(f"{path}: {SERVER_ONLY_NOTE}")
        pages.append(_page_for(Path(path)))
    rels = [p.rel.as_posix() for p in pages]
    if len(set(rels)) != len(rels):
        raise ExportError("The same notebook (or two with the same name) was given twice.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        written = []
        for page in pages:
            started = time.monotonic()
            log(f"Exporting {page.rel} ...")
            try:
                nb, snapshots = run_notebook(page.source, timeout)
                markup = notebook_page(nb, snapshots, page, rels)
            except ExportError as exc:
                raise ExportError(
                    f"Could not export {page.rel}: {exc}. Nothing was written to {out}. "
                    "Open the notebook in JupyterLab and run it to see the full error."
                ) from exc
            bad = external_references(markup)
            if bad:
                raise ExportError(
                    f"Could not export {page.rel}: the page would fetch {bad[0]} from elsewhere, "
                    "so it would not work offline. Nothing was written."
                )
            target = tmp / page.html_rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(markup, encoding="utf-8")
            written.append(page.html_rel)
            log(
                f"  wrote {page.html_rel} ({target.stat().st_size / 1024:.0f} KB, "
                f"{time.monotonic() - started:.1f} s)"
            )
        (tmp / "index.html").write_text(index_page(pages), encoding="utf-8")
        (tmp / MARKER).write_text(
            "Written by `python -m pbc_lib.export`; the whole folder is replaced on each run.\n",
            encoding="utf-8",
        )
        tmp.chmod(0o755)  # mkdtemp makes it private; a static host needs to read it
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / "index.html", *(out / rel for rel in written)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Export workbooks to self-contained HTML pages that need no server."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder to write (replaced as a whole; default build/static)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=EXECUTION_TIMEOUT_S,
        help=f"seconds one cell may take (default {EXECUTION_TIMEOUT_S})",
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to export (default: all of them)"
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or exportable_paths()
    started = time.monotonic()
    try:
        files = export(notebooks, args.out, timeout=args.timeout)
    except ExportError as exc:
        print(f"Export failed. {exc}", file=sys.stderr)
        return 1
    print(
        f"Exported {len(files) - 1} notebook(s) to {files[0].parent} in "
        f"{time.monotonic() - started:.0f} s. Open {files[0]} in a browser."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
