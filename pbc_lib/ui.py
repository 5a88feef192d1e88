"""Shared presentation pieces for the workbooks: formatting, captions, tables, the chart view,
the friendly error panel and the workbook header.

Formatting follows NHS and GOV.UK style: "£1,234,567", a true minus sign ("−£1,234"), "16.0%",
financial years as "2006/07". Rounding is half away from zero on the decimal value a reader
sees (``2.5`` → ``3``, ``1.005`` → ``1.01``), not Python's round-half-even on the binary value.
A missing value (``None``, NaN, ``pd.NA``) is shown as an en dash, :data:`MISSING`, because
tables in the workbooks legitimately have gaps; anything that is not a number (a string, a bool,
infinity) raises :class:`FormatError`, because that is a bug, not a gap.

Charts are shown as inline SVG inside an ``ipywidgets.HTML`` (see :mod:`pbc_lib.charts`); a
control change sets the widget's ``value``. Nothing here uses an ``Output`` widget: an exception
inside ``with output:`` reaches the user as a traceback in Voilà (``shared/tech-notes.md``).
"""

from __future__ import annotations

import base64
import functools
import html
import logging
import math
import numbers
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import altair as alt
import ipywidgets as widgets
import pandas as pd

from pbc_lib import charts, lockdown

log = logging.getLogger(__name__)
lockdown.install()  # the page may set controls' values only, never their limits (pbc_lib.lockdown)

MISSING = "\u2013"  # en dash, for a value that is not available
MINUS = "\u2212"  # minus sign
GENERIC_ERROR = (
    "Something went wrong while updating this view. Your inputs have not been "
    "changed; try again, or reset the controls. (The details are in the log.)"
)
F = TypeVar("F", bound=Callable[..., Any])


class FormatError(TypeError):
    """A value handed to a formatter is not a number (or is infinite)."""


class FinancialYearError(ValueError):
    """A financial year is not in the form "2006/07" or is out of range."""


class HeaderError(ValueError):
    """Notebook metadata for the workbook header is missing or malformed."""


# --- Numbers -------------------------------------------------------------------------------------
def _decimal(x: Any) -> Decimal | None:
    """Return ``x`` as a Decimal, None if missing; raise FormatError if not a finite number."""
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, Decimal):
        if x.is_nan():
            return None
        if x.is_infinite():
            raise FormatError(f"Expected a finite number; got {x}.")
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise FormatError(f"Expected a number; got {x!r} ({type(x).__name__}).")
    if isinstance(x, float) or not isinstance(x, numbers.Integral):
        value = float(x)
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise FormatError(f"Expected a finite number; got {value}.")
        return Decimal(repr(value))  # shortest repr: 1.005 stays 1.005
    return Decimal(int(x))


def _fixed(d: Decimal, dp: int) -> tuple[str, str]:
    """Round half away from zero and add thousands separators; returns (sign, digits)."""
    if dp < 0:
        raise ValueError(f"dp must be 0 or more; got {dp}.")
    q = d.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    sign = MINUS if q < 0 else ""  # -0.4 rounds to 0: no sign
    return sign, f"{abs(q):,.{dp}f}"


def number(x: Any, dp: int = 0) -> str:
    """Format a number with thousands separators: ``number(1234567)`` → "1,234,567".

    Parameters
    ----------
    x
        An int, float, numpy or Decimal number; None/NaN gives :data:`MISSING`.
    dp
        Decimal places.
    """
    d = _decimal(x)
    if d is None:
        return MISSING
    sign, digits = _fixed(d, dp)
    return f"{sign}{digits}"


def gbp(x: Any, dp: int = 0) -> str:
    """Format pounds: ``gbp(1234567)`` → "£1,234,567", ``gbp(-1234)`` → "−£1,234"."""
    d = _decimal(x)
    if d is None:
        return MISSING
    sign, digits = _fixed(d, dp)
    return f"{sign}£{digits}"


def gbp_short(x: Any, dp: int = 1) -> str:
    """Short pounds for headlines: "£1.2m", "£450k", "£2.3bn", "£950", "−£1.5m".

    Parameters
    ----------
    x
        Amount in pounds.
    dp
        Decimal places for thousands, millions and billions (trailing ".0" is dropped).
    """
    d = _decimal(x)
    if d is None:
        return MISSING
    size = abs(d)
    if size < 1000:
        return gbp(x)
    for threshold, suffix in (
        (Decimal(10) ** 9, "bn"),
        (Decimal(10) ** 6, "m"),
        (Decimal(10) ** 3, "k"),
    ):
        scaled = (size / threshold).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
        if scaled >= 1:
            text = f"{scaled:,.{dp}f}".removesuffix("." + "0" * dp) if dp else f"{scaled:,.0f}"
            return f"{MINUS if d < 0 else ''}£{text}{suffix}"
    return gbp(x)


def pct(x: Any, dp: int = 1) -> str:
    """Format a fraction as a percentage: ``pct(0.16)`` → "16.0%", ``pct(-0.025)`` → "−2.5%"."""
    d = _decimal(x)
    if d is None:
        return MISSING
    sign, digits = _fixed(d * 100, dp)
    return f"{sign}{digits}%"


def per_1000(x: Any, dp: int = 1) -> str:
    """Format a rate already per 1,000 patients: ``per_1000(245.26)`` → "245.3 per 1,000"."""
    text = number(x, dp)
    return text if text == MISSING else f"{text} per 1,000"


# --- Financial years -----------------------------------------------------------------------------
FY_FIRST, FY_LAST = 1900, 2098
_FY = re.compile(r"^\s*(\d{4})\s*[/\-\u2013]\s*(\d{2})\s*$")


def financial_year(start_year: int) -> str:
    """The NHS financial year starting in April of ``start_year``: 2006 → "2006/07".

    1999 gives "1999/00".

    Raises
    ------
    FinancialYearError
        If ``start_year`` is not a whole number from 1900 to 2098.
    """
    if isinstance(start_year, bool) or not isinstance(start_year, numbers.Integral):
        raise FinancialYearError(
            f"A financial year starts in a whole year like 2006; got {start_year!r}."
        )
    if not FY_FIRST <= int(start_year) <= FY_LAST:
        raise FinancialYearError(
            f"Financial years run from {FY_FIRST} to {FY_LAST}; got {start_year}."
        )
    return f"{int(start_year)}/{(int(start_year) + 1) % 100:02d}"


def parse_financial_year(text: str) -> int:
    """Parse "2006/07" (also "2006-07" or "2006–07") to the start year, 2006.

    Raises
    ------
    FinancialYearError
        If the text is not two consecutive years in that form ("2006/08" is rejected).
    """
    match = _FY.match(text) if isinstance(text, str) else None
    if not match:
        raise FinancialYearError(f"A financial year looks like 2006/07; got {text!r}.")
    start, end = int(match.group(1)), int(match.group(2))
    if (start + 1) % 100 != end:
        raise FinancialYearError(
            f"{text!r} is not a financial year: {start} is followed by "
            f"{(start + 1) % 100:02d}, not {end:02d}."
        )
    financial_year(start)  # range check
    return start


# --- HTML pieces ---------------------------------------------------------------------------------
def data_link(content: str | bytes, filename: str, mime: str, label: str) -> str:
    """An ``<a download>`` link carrying ``content`` as a base64 ``data:`` URI (nothing stored on
    the server). Text is sent as UTF-8 and says so; bytes (a zip, a spreadsheet) go as they are."""
    if isinstance(content, str):
        payload, charset = content.encode("utf-8"), ";charset=utf-8"
    else:
        payload, charset = content, ""
    encoded = base64.b64encode(payload).decode("ascii")
    return (
        f'<a class="pbc-download" download="{html.escape(filename)}" '
        f'href="data:{mime}{charset};base64,{encoded}">{html.escape(label)}</a>'
    )


def source_caption(text: str) -> str:
    """HTML for a source line under a table or chart: ``<p class="pbc-source">Source: …</p>``."""
    text = str(text).strip()
    line = text if text.lower().startswith("source") else f"Source: {text}"
    return f'<p class="pbc-source">{html.escape(line)}</p>'


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "gbp": gbp,
    "gbp2": functools.partial(gbp, dp=2),
    "gbp_short": gbp_short,
    "pct": pct,
    "pct0": functools.partial(pct, dp=0),
    "number": number,
    "number1": functools.partial(number, dp=1),
    "number2": functools.partial(number, dp=2),
    "per_1000": per_1000,
    "fy": financial_year,
}


def _cell_formatter(
    series: pd.Series, spec: str | Callable[[Any], str] | None
) -> tuple[Callable[[Any], str], bool]:
    """Pick the formatter for a column; returns (formatter, right-align?)."""
    if callable(spec):
        return spec, True
    if spec is not None:
        if spec == "text":
            return (lambda v: MISSING if v is None or v is pd.NA else str(v)), False
        if spec not in FORMATTERS:
            raise ValueError(
                f"Unknown format {spec!r}; use one of "
                f"{', '.join(sorted(FORMATTERS))}, 'text' or a function."
            )
        return FORMATTERS[spec], True
    if pd.api.types.is_bool_dtype(series):
        return (lambda v: "Yes" if v else "No"), False
    if pd.api.types.is_integer_dtype(series):
        return number, True
    if pd.api.types.is_float_dtype(series):
        return FORMATTERS["number1"], True
    return (
        lambda v: MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    ), False


def table_html(
    df: pd.DataFrame,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    caption: str | None = None,
    *,
    row_headers: bool = True,
) -> str:
    """A plain, accessible HTML table with NHS number formats; deterministic output.

    Parameters
    ----------
    df
        The rows to show; column names become headers (put units in them: "Cost (£)").
    formats
        Column → a name in :data:`FORMATTERS` ("gbp", "pct", …), "text", or a function.
        Unlisted columns: integers "1,234", floats "1,234.5", text as is.
    caption
        Table caption (shown above the table, read out by screen readers).
    row_headers
        Mark the first column's cells as row headers.

    Returns
    -------
    str
        ``<table class="pbc-table">…</table>``.
    """
    formats = dict(formats or {})
    unknown = sorted(set(formats) - set(map(str, df.columns)))
    if unknown:
        raise ValueError(f"Formats given for missing column(s): {', '.join(unknown)}.")
    cols = [(str(c), *_cell_formatter(df[c], formats.get(str(c)))) for c in df.columns]
    num = ' class="num"'
    head = "".join(
        f'<th scope="col"{num if right else ""}>{html.escape(name)}</th>' for name, _, right in cols
    )
    rows = []
    for record in df.itertuples(index=False, name=None):
        cells = []
        for i, (value, (name, fmt, right)) in enumerate(zip(record, cols, strict=True)):
            tag = "th" if (row_headers and i == 0) else "td"
            attrs = (' scope="row"' if tag == "th" else "") + (num if right else "")
            attrs += "" if tag == "th" else f' data-label="{html.escape(name)}"'
            cells.append(f"<{tag}{attrs}>{html.escape(fmt(value))}</{tag}>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="pbc-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def header_html(meta: Mapping[str, Any]) -> str:
    """The workbook header from notebook metadata.

    Parameters
    ----------
    meta
        ``title`` (str), ``summary`` (str), ``minutes`` (int > 0), ``outcomes`` (list of str),
        ``data`` (list of data file names, may be empty).

    Returns
    -------
    str
        ``<header class="pbc-header">`` with the title, summary, "About N minutes", the learning
        outcomes and the data used.

    Raises
    ------
    HeaderError
        Naming the first missing or malformed key.
    """
    for key, kind in (
        ("title", str),
        ("summary", str),
        ("minutes", int),
        ("outcomes", list),
        ("data", list),
    ):
        value = meta.get(key)
        empty = key != "data" and not value
        if not isinstance(value, kind) or isinstance(value, bool) or empty:
            raise HeaderError(
                f"Workbook metadata `{key}` must be a non-empty {kind.__name__}; got {value!r}."
            )
    if meta["minutes"] <= 0:
        raise HeaderError(f"Workbook metadata `minutes` must be above 0; got {meta['minutes']}.")
    esc = html.escape
    outcomes = "".join(f"<li>{esc(str(o))}</li>" for o in meta["outcomes"])
    data = (
        "".join(f"<li><code>{esc(str(d))}</code></li>" for d in meta["data"])
        or "<li>No data files</li>"
    )
    minutes = f"About {meta['minutes']} minute{'s' if meta['minutes'] != 1 else ''}"
    return (
        f'<header class="pbc-header"><h1>{esc(meta["title"])}</h1>'
        f'<p class="pbc-summary">{esc(meta["summary"])}</p>'
        f'<p class="pbc-minutes">{minutes}</p>'
        f"<h2>By the end you will be able to</h2><ul>{outcomes}</ul>"
        f'<h2>Data used</h2><ul class="pbc-data">{data}</ul></header>'
    )


# Colours: NHS Black text (16.6:1 on white), NHS Dark Grey secondary (7.7:1), NHS Red error
# border, NHS Green (#007F3B) and NHS Orange borders for quiz feedback (borders only, not text).
STYLE = """<style>
.pbc-chart{margin:0 0 0.5em 0;max-width:100%}
.pbc-chart svg{max-width:100%;height:auto;display:block}
.pbc-chart .pbc-narrow{display:none}
@media (max-width:600px){.pbc-chart .pbc-wide{display:none}.pbc-chart .pbc-narrow{display:block}}
.pbc-sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;
 clip:rect(0,0,0,0);white-space:nowrap;border:0}
.pbc-source{color:#425563;font-size:0.875rem;margin:0.25em 0 0.75em 0}
.pbc-table{border-collapse:collapse;margin:0.5em 0;font-size:0.95rem;color:#231F20;
 font-variant-numeric:tabular-nums}
.pbc-table caption{text-align:left;font-weight:bold;padding:0.25em 0}
.pbc-table th,.pbc-table td{border-bottom:1px solid #AEB7BD;padding:0.3em 0.6em;text-align:left;
 vertical-align:top}
.pbc-table thead th{border-bottom:2px solid #425563}
.pbc-table .num{text-align:right !important}
.pbc-table th,.pbc-table td,.pbc-table caption{text-align:left !important}
.pbc-table td.num,.pbc-table th.num{text-align:right !important}
.pbc-table-wrap{overflow-x:auto;max-width:100%}
@media (max-width:600px){.pbc-table,.pbc-table tbody,.pbc-table tr,.pbc-table th,.pbc-table td,
 .pbc-table caption{display:block;width:auto}.pbc-table thead{display:none}
 .pbc-table tr{border-bottom:2px solid #425563;padding:0.3em 0}
 .pbc-table th,.pbc-table td{border:0;padding:0.15em 0.3em;text-align:left !important}
 .pbc-table td[data-label]::before{content:attr(data-label) ": ";font-weight:bold}}
.pbc-error{border-left:6px solid #DA291C;background:#FFFFFF;color:#231F20;padding:0.6em 1em;
 margin:0.5em 0}
.pbc-feedback{border-left:6px solid #768692;padding:0.4em 0.8em;margin:0.4em 0;color:#231F20}
.pbc-feedback.pbc-correct{border-left-color:#007F3B}
.pbc-feedback.pbc-wrong{border-left-color:#ED8B00}
.pbc-score{font-weight:bold;color:#231F20}
.pbc-header h1{color:#005EB8;margin-bottom:0.2em}
.pbc-header .pbc-summary{font-size:1.15rem;color:#231F20}
.pbc-header .pbc-minutes{color:#425563}
.pbc-downloads a{color:#005EB8;text-decoration:underline;font-weight:bold}
.pbc-downloads a:focus{outline:3px solid #FFB81C;background:#FFB81C;color:#231F20}
</style>"""


def page_css() -> str:
    """The ``<style>`` block every workbook displays once (charts, tables, errors, quizzes)."""
    return STYLE


# --- Chart view ----------------------------------------------------------------------------------
def figure_html(svg: str, source: str | None, *, narrow_svg: str | None = None) -> str:
    """Wrap inline SVG in ``<figure class="pbc-chart">`` with a ``Source:`` figcaption.

    The source is drawn inside the SVG already, so the figcaption is for screen readers only
    (the SVG is one ``role="img"``, whose inner text they skip); ``page_css`` hides it visually.
    With ``narrow_svg`` both versions are included and CSS shows the narrow one on screens up to
    600 px wide (phones), the wide one elsewhere.
    """
    if narrow_svg is None:
        body = svg
    else:
        body = f'<div class="pbc-wide">{svg}</div><div class="pbc-narrow">{narrow_svg}</div>'
    caption = ""
    if source:
        line = source if source.lower().startswith("source") else f"Source: {source}"
        caption = f'<figcaption class="pbc-sr-only">{html.escape(line)}</figcaption>'
    return f'<figure class="pbc-chart">{body}{caption}</figure>'


class ChartView(widgets.VBox):
    """A chart drawn as inline SVG, its source caption, and a "Show as table" toggle.

    Parameters
    ----------
    chart
        A chart from :mod:`pbc_lib.charts` (or None, to fill later with :meth:`update`).
    table
        The rows to show in the table view (units in the column names); defaults to the data
        inside the chart's spec.
    formats, caption
        Passed to :func:`table_html`; the caption defaults to "Data for: <chart title>".
    narrow_width
        Plot width of a second, phone-sized render (None to skip it and halve the render time).

    Attributes
    ----------
    chart, table, svg, narrow_svg, table_markup
        What is currently shown, or shown when the table is asked for (for tests).
    figure, toggle, table_widget
        The widgets: the chart's HTML, the toggle button, the table's HTML (hidden and empty
        until the toggle shows it, so a page view does not carry every table's markup).
    """

    def __init__(
        self,
        chart: alt.TopLevelMixin | None = None,
        table: pd.DataFrame | None = None,
        *,
        formats: Mapping[str, Any] | None = None,
        caption: str | None = None,
        narrow_width: int | None = charts.NARROW_WIDTH,
    ) -> None:
        self.narrow_width = narrow_width
        self.chart: alt.TopLevelMixin | None = None
        self.table: pd.DataFrame | None = None
        self.svg = self.narrow_svg = ""
        self.table_markup = ""
        self.figure = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.toggle = widgets.ToggleButton(
            value=False,
            description="Show as table",
            tooltip="Show the chart's numbers as a table",
            icon="table",
        )
        self.table_widget = widgets.HTML(layout=widgets.Layout(display="none"))
        self.toggle.observe(self._on_toggle, names="value")
        super().__init__([self.figure, self.toggle, self.table_widget])
        self.add_class("pbc-chart-view")
        if chart is not None:
            self.update(chart, table, formats=formats, caption=caption)

    def update(
        self,
        chart: alt.TopLevelMixin,
        table: pd.DataFrame | None = None,
        *,
        formats: Mapping[str, Any] | None = None,
        caption: str | None = None,
    ) -> None:
        """Redraw the chart and rebuild the table (the toggle keeps its state)."""
        spec = charts.spec_of(chart)
        meta = charts.chart_meta(spec)
        table = charts.chart_data(spec) if table is None else table
        svg = charts.to_svg(spec)
        narrow = charts.to_svg(spec, width=self.narrow_width) if self.narrow_width else None
        caption = caption or (f"Data for: {meta['title']}" if meta["title"] else None)
        table_markup = table_html(table, formats, caption)
        # Assign only after everything has rendered, so a failure leaves the old view intact.
        self.chart, self.table, self.svg, self.narrow_svg = chart, table, svg, narrow or ""
        self.figure.value = figure_html(svg, meta["source"], narrow_svg=narrow)
        self.table_markup = f'<div class="pbc-table-wrap">{table_markup}</div>'
        if self.table_visible:
            self.table_widget.value = self.table_markup
        elif self.table_widget.value:
            self.table_widget.value = ""  # sent to the page only when shown: fewer bytes a view

    @property
    def table_visible(self) -> bool:
        """Whether the table is showing."""
        return self.table_widget.layout.display != "none"

    def _on_toggle(self, change: Mapping[str, Any]) -> None:
        show = bool(change["new"])
        if show:
            self.table_widget.value = self.table_markup
        self.table_widget.layout.display = None if show else "none"
        self.toggle.description = "Hide table" if show else "Show as table"


# --- Errors --------------------------------------------------------------------------------------
class ErrorPanel(widgets.HTML):
    """A plain-English error message box; hidden while empty.

    Use :meth:`show` and :meth:`clear`, or let :class:`guard` drive it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(value="", layout=widgets.Layout(display="none"), **kwargs)
        self.add_class("pbc-error-panel")
        self.message = ""

    def show(self, message: str) -> None:
        """Show ``message`` (plain text; it is HTML-escaped)."""
        self.message = message
        self.value = f'<div class="pbc-error" role="alert">{html.escape(message)}</div>'
        self.layout.display = None

    def clear(self) -> None:
        """Empty and hide the panel."""
        self.message = ""
        self.value = ""
        self.layout.display = "none"

    @property
    def visible(self) -> bool:
        """Whether a message is showing."""
        return self.layout.display != "none"


def friendly_message(exc: BaseException) -> str:
    """The message a user sees for an exception.

    Our own ``ValueError``/``TypeError`` subclasses (defined anywhere in ``pbc_lib``) are written
    for users, so their message is shown. Anything else (a pandas error, a bug) gets
    :data:`GENERIC_ERROR`, because its message would mean nothing to a trainee.
    """
    ours = type(exc).__module__.split(".")[0] == "pbc_lib"
    if ours and isinstance(exc, ValueError | TypeError) and str(exc).strip():
        return str(exc)
    return GENERIC_ERROR


class guard:  # noqa: N801 (used like a function: @guard(panel) / with guard(panel):)
    """Catch any exception from a widget callback and show it in an :class:`ErrorPanel`.

    Works as a decorator (``@guard(panel)``) and as a context manager (``with guard(panel):``).
    On success the panel is cleared; on failure the user sees :func:`friendly_message` and the
    full traceback goes to the ``pbc_lib.ui`` logger, never to the page. Use it outside any
    ``Output`` widget context: ``Output.__exit__`` would print the traceback first.
    """

    def __init__(self, panel: ErrorPanel, *, what: str = "callback") -> None:
        self.panel = panel
        self.what = what
        self.error: BaseException | None = None

    def __enter__(self) -> guard:
        self.error = None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if exc is None:
            self.panel.clear()
            return False
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: let them through
            return False
        self.error = exc
        message = friendly_message(exc)
        level = logging.WARNING if message != GENERIC_ERROR else logging.ERROR
        log.log(level, "%s failed: %s", self.what, exc, exc_info=(exc_type, exc, tb))
        self.panel.show(message)
        return True

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with guard(self.panel, what=getattr(func, "__qualname__", self.what)):
                return func(*args, **kwargs)
            return None

        return wrapper  # type: ignore[return-value]
