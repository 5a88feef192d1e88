"""Tests for pbc_lib.charts: every builder's title, alt text, source, axis titles, theme and data;
input validation; SVG safety and determinism; colour-blind safety and text contrast."""

from __future__ import annotations

import hashlib
import html
import itertools
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest

from pbc_lib import charts
from pbc_lib.charts import ChartDataError

REPO = Path(__file__).resolve().parent.parent


# --- Fixtures ------------------------------------------------------------------------------------
def events_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": ["1991-04-01", "2004-10-05", "2006-10-01", "2008-12-01"],
            "event": ["GP fundholding begins", "PbC launched", "PCTs merge", "18-week deadline"],
            "category": ["Fundholding", "PbC", "PCTs", "Targets"],
            "source": ["SI 1991/582", "DH 2004", "SI 2006/2072", "DH 2004b"],
        }
    )


def population_df(practice: str = "Riverside Surgery") -> pd.DataFrame:
    shares = {
        practice: [0.06, 0.13, 0.40, 0.25, 0.08, 0.06, 0.02],
        "PCT average": [0.05, 0.12, 0.38, 0.27, 0.09, 0.07, 0.02],
    }
    rows = [
        {"age_band": band, "sex": sex, "share": share / 2, "group": group}
        for group, values in shares.items()
        for band, share in zip(charts.AGE_BANDS, values, strict=True)
        for sex in ("F", "M")
    ]
    return pd.DataFrame(rows)


def rates_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "measure": ["GP referrals", "Emergency admissions", "A&E attendances"],
            "unit": ["referrals", "admissions", "attendances"],
            "practice_rate": [262.0, 95.5, 280.25],
            "pct_rate": [240.0, 101.0, 265.5],
        }
    )


def ranked_df() -> pd.DataFrame:
    return pd.DataFrame(
        {"practice": ["Alder", "Beech", "Cedar", "Damson"], "cost": [182.5, 201.0, 150.25, 199.0]}
    )


# builder name -> (build function, input frame, columns kept in the spec, expected axis titles)
BUILDERS = {
    "timeline": (
        lambda: charts.timeline_chart(events_df()),
        events_df,
        ["date", "event", "category", "source"],
        {"Year"},
    ),
    "pyramid": (
        lambda: charts.age_pyramid(population_df(), "Riverside Surgery"),
        population_df,
        ["age_band", "sex", "share", "group"],
        {"Share of registered list (%)", "Age band (years)"},
    ),
    "rates": (
        lambda: charts.rate_comparison(rates_df(), "Riverside Surgery"),
        rates_df,
        ["measure", "unit", "practice_rate", "pct_rate"],
        {"Per 1,000 patients a year", "Measure"},
    ),
    "ranked": (
        lambda: charts.ranked_bar(
            ranked_df(),
            "cost",
            "practice",
            highlight="Cedar",
            value_title="£ per head",
            title="Cost per head",
        ),
        ranked_df,
        ["practice", "cost"],
        {"£ per head", "Practice"},
    ),
}


@pytest.fixture(scope="module")
def built():
    return {name: spec[0]() for name, spec in BUILDERS.items()}


@pytest.fixture(scope="module")
def svgs(built):
    return {name: charts.to_svg(chart) for name, chart in built.items()}


def _walk(node):
    """Yield every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def axis_titles(spec: dict) -> list[tuple[str, object]]:
    """(channel, title) for every x/y encoding that draws an axis."""
    found = []
    for node in _walk(spec):
        for channel in ("x", "y"):
            enc = node.get("encoding", {}).get(channel) if "encoding" in node else None
            if isinstance(enc, dict) and "field" in enc and enc.get("axis", {}) is not None:
                found.append((channel, enc.get("title")))
    return found


# --- Builders ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILDERS)
def test_title_description_and_source(name, built, svgs):
    meta = charts.chart_meta(built[name])
    assert meta["title"] and meta["title"].strip()
    assert meta["description"] and len(meta["description"]) > 20
    assert meta["source"] and meta["source_line"].startswith("Source: ")
    spec = built[name].to_dict()
    assert spec["vconcat"][0]["title"]["text"] == meta["title"]  # drawn at the top
    assert spec["title"]["orient"] == "bottom" and spec["title"]["anchor"] == "start"
    lines = charts.wrap_text(meta["source_line"], charts.SOURCE_SIZE, charts._plot_width(spec))
    assert " ".join(lines) == meta["source_line"]
    for line in lines:  # drawn in the SVG, wrapped to the chart's width
        assert html.escape(line, quote=False) in svgs[name]


@pytest.mark.parametrize("name", BUILDERS)
def test_every_axis_has_a_title_with_units(name, built):
    titles = axis_titles(built[name].to_dict())
    assert titles, "no axes found"
    assert all(isinstance(t, str) and t.strip() for _, t in titles), titles
    assert {t for _, t in titles} == BUILDERS[name][3]


@pytest.mark.parametrize("name", BUILDERS)
def test_theme_is_applied(name, built):
    config = built[name].to_dict()["config"]
    assert config["range"]["category"] == charts.CATEGORY_COLOURS
    assert config["title"]["fontSize"] >= 20
    assert config["axis"]["labelFontSize"] >= 13 and config["axis"]["titleFontSize"] >= 14
    assert config["font"] == charts.FONT


@pytest.mark.parametrize("name", BUILDERS)
def test_spec_holds_the_input_data(name, built):
    _, make_df, columns, _ = BUILDERS[name]
    expected = make_df()[columns]
    got = charts.chart_data(built[name])[columns]
    key = columns[:2] if name != "timeline" else ["date"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )


def test_theme_enable_is_idempotent():
    alt.theme.enable("default")
    charts.enable_theme()
    charts.enable_theme()
    assert alt.theme.active == "pbc"


def test_to_svg_uses_the_pbc_theme_even_if_another_is_active(built):
    alt.theme.enable("dark")
    try:
        svg = charts.to_svg(built["ranked"])
    finally:
        charts.enable_theme()
    assert charts.HIGHLIGHT.lower() in svg.lower() and 'fill="white"' in svg


def test_timeline_orders_events_and_accepts_datetimes():
    df = events_df().iloc[::-1].assign(date=lambda d: pd.to_datetime(d["date"]))
    data = charts.chart_data(charts.timeline_chart(df))
    assert list(data["date"]) == sorted(events_df()["date"])


def test_pyramid_puts_males_left():
    spec = charts.age_pyramid(population_df(), "Riverside Surgery").to_dict()
    calcs = [n["calculate"] for n in _walk(spec) if "calculate" in n]
    assert set(calcs) == {"(datum.sex === 'M' ? -100 : 100) * datum.share"}
    domain = next(n["scale"]["domain"] for n in _walk(spec) if n.get("field") == "signed")
    assert domain == [-20, 20]  # largest share 20% rounded up to an even number


def test_ranked_bar_highlights_one_row(built):
    spec = built["ranked"].to_dict()
    conds = [n["condition"] for n in _walk(spec) if "condition" in n]
    assert {"field": "practice", "equal": "Cedar"} in [c["test"] for c in conds]
    assert any(c.get("value") == charts.HIGHLIGHT for c in conds)


# --- Validation ----------------------------------------------------------------------------------
BAD_INPUTS = [
    (
        "missing column",
        lambda: charts.timeline_chart(events_df().drop(columns="category")),
        "category",
    ),
    ("empty", lambda: charts.timeline_chart(events_df().iloc[0:0]), "no rows"),
    ("bad date", lambda: charts.timeline_chart(events_df().assign(date="soon")), "soon"),
    ("out of range", lambda: charts.timeline_chart(events_df(), start_year=2000), "outside"),
    ("not a frame", lambda: charts.age_pyramid([1, 2], "X"), "DataFrame"),
    (
        "unknown band",
        lambda: charts.age_pyramid(
            population_df().replace({"age_band": {"85+": "85-99"}}), "Riverside Surgery"
        ),
        "85-99",
    ),
    (
        "share as %",
        lambda: charts.age_pyramid(
            population_df().assign(share=lambda d: d["share"] * 100), "Riverside Surgery"
        ),
        "0 to 1",
    ),
    ("wrong label", lambda: charts.age_pyramid(population_df(), "Other Surgery"), "group"),
    (
        "text rate",
        lambda: charts.rate_comparison(rates_df().assign(pct_rate=["1", "2", "3"]), "X"),
        "pct_rate",
    ),
    (
        "NaN rate",
        lambda: charts.rate_comparison(rates_df().assign(practice_rate=[1.0, np.nan, 3.0]), "X"),
        "row 2",
    ),
    (
        "duplicate measure",
        lambda: charts.rate_comparison(rates_df().assign(measure="GP referrals"), "X"),
        "appears twice",
    ),
    (
        "no such highlight",
        lambda: charts.ranked_bar(
            ranked_df(), "cost", "practice", "Elm", value_title="£", title="T"
        ),
        "Elm",
    ),
    (
        "bad format",
        lambda: charts.ranked_bar(
            ranked_df(), "cost", "practice", value_title="£", title="T", value_format="£,.0f"
        ),
        "d3",
    ),
    (
        "empty title",
        lambda: charts.ranked_bar(ranked_df(), "cost", "practice", value_title="£", title=" "),
        "title",
    ),
]


@pytest.mark.parametrize("case, build, words", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_raises_plain_english_error(case, build, words):
    with pytest.raises(ChartDataError, match=re.escape(words)):
        build()
    assert issubclass(ChartDataError, ValueError)


# --- SVG -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILDERS)
def test_svg_is_accessible(name, built, svgs):
    svg = svgs[name]
    desc = html.escape(charts.chart_meta(built[name])["description"], quote=True)
    root = re.match(r"<svg [^>]*>", svg).group(0)
    assert 'role="img"' in root and f'aria-label="{desc}"' in root
    assert svg[len(root) :].startswith(f"<title>{desc}</title>")


def _id_chart(colour_field: str) -> alt.VConcatChart:
    """A chart whose SVG has ids: a gradient legend and a clipped mark."""
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    base = (
        alt.Chart(df)
        .mark_point(clip=True)
        .encode(
            x=alt.X("a:Q", title="A (units)", scale=alt.Scale(domain=[0, 2])),
            y=alt.Y("b:Q", title="B (units)"),
            color=alt.Color(f"{colour_field}:Q", title="C"),
        )
    )
    return charts.finish(
        base, title=f"Ids {colour_field}", description="Chart with ids.", source="Test"
    )


def test_repeated_renders_of_a_chart_with_ids_are_identical():
    # vl-convert's own ids count up across renders in a process (clip1, clip2, ...).
    first, second = charts.to_svg(_id_chart("a")), charts.to_svg(_id_chart("a"))
    assert first == second


def test_two_charts_on_one_page_share_no_ids():
    one, two = charts.to_svg(_id_chart("a")), charts.to_svg(_id_chart("b"))
    ids_one = re.findall(r'\bid="([^"]+)"', one)
    ids_two = re.findall(r'\bid="([^"]+)"', two)
    assert ids_one and ids_two, "expected vl-convert to write clip/gradient ids"
    assert not set(ids_one) & set(ids_two)
    for svg, ids in ((one, ids_one), (two, ids_two)):
        assert len(ids) == len(set(ids))
        refs = re.findall(r"url\(#([^)]+)\)", svg) + re.findall(r'href="#([^"]+)"', svg)
        assert refs and set(refs) <= set(ids)  # every reference was renamed with its id


def test_svg_is_byte_identical_across_calls(built, svgs):
    for name, chart in built.items():
        assert charts.to_svg(chart) == svgs[name]


def test_svg_is_byte_identical_across_processes():
    code = textwrap.dedent("""
        import hashlib, sys
        sys.path.insert(0, sys.argv[1])
        from tests.test_charts import BUILDERS, _id_chart
        from pbc_lib import charts
        for name, spec in BUILDERS.items():
            print(name, hashlib.sha256(charts.to_svg(spec[0]()).encode()).hexdigest())
        print("ids", hashlib.sha256(charts.to_svg(_id_chart("a")).encode()).hexdigest())
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=120,
    ).stdout.split()
    theirs = dict(zip(out[::2], out[1::2], strict=True))
    ours = {
        name: hashlib.sha256(charts.to_svg(spec[0]()).encode()).hexdigest()
        for name, spec in BUILDERS.items()
    }
    ours["ids"] = hashlib.sha256(charts.to_svg(_id_chart("a")).encode()).hexdigest()
    assert theirs == ours


def test_narrow_render_changes_width_only(built):
    wide = charts.to_svg(built["pyramid"])
    narrow = charts.to_svg(built["pyramid"], width=charts.NARROW_WIDTH)
    width = lambda s: int(re.search(r'width="(\d+)"', s).group(1))  # noqa: E731
    assert width(narrow) < width(wide) <= 700
    assert "Riverside Surgery" in narrow


# --- Colour --------------------------------------------------------------------------------------
# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", IEEE TVCG 15(6); severity 1.0 matrices, applied to linear RGB.
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)
# Threshold: CIE76 ΔE of 2.3 is one just-noticeable difference for large patches; for small
# chart marks the noticeable difference is several times larger (Szafir 2018, "Modeling color
# difference for visualization design", IEEE TVCG 24(1)), and categorical palette tools work
# with ~20 or more. We require ≥ 20 under normal vision, deuteranopia and protanopia.
MIN_DELTA_E = 20.0


def linear_rgb(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb_linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(rgb_linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, matrix: np.ndarray | None = None) -> float:
    la, lb = linear_rgb(a), linear_rgb(b)
    if matrix is not None:
        la, lb = matrix @ la, matrix @ lb
    return float(np.linalg.norm(lab(la) - lab(lb)))


def contrast(a: str, b: str = "#FFFFFF") -> float:
    lum = lambda h: float(np.array([0.2126, 0.7152, 0.0722]) @ linear_rgb(h))  # noqa: E731
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


VISIONS = {"normal": None, "deuteranopia": DEUTERANOPIA, "protanopia": PROTANOPIA}


@pytest.mark.parametrize("vision", VISIONS)
def test_category_colours_stay_apart(vision):
    matrix = VISIONS[vision]
    for n in range(2, len(charts.CATEGORY_COLOURS) + 1):
        for a, b in itertools.combinations(charts.CATEGORY_COLOURS[:n], 2):
            assert delta_e(a, b, matrix) >= MIN_DELTA_E, (vision, n, a, b)


def test_simulation_is_not_a_no_op():
    # NHS Red and NHS Green (#007F3B) are far apart normally, close for red-green deficiency.
    red, green = charts.PALETTE["NHS Red"], "#007F3B"
    assert delta_e(red, green) > 100
    assert delta_e(red, green, DEUTERANOPIA) < 40 and delta_e(red, green, PROTANOPIA) < 15


@pytest.mark.parametrize("vision", VISIONS)
def test_highlight_stands_out_from_the_rest(vision):
    matrix = VISIONS[vision]
    assert delta_e(charts.HIGHLIGHT, charts.MUTED, matrix) >= 40
    assert delta_e(charts.HIGHLIGHT, charts.REFERENCE, matrix) >= MIN_DELTA_E


def test_text_colours_meet_wcag_aa_on_white():
    config = charts.theme_config()["config"]
    text_colours = {
        charts.TEXT,
        charts.TEXT_SECONDARY,
        config["axis"]["labelColor"],
        config["axis"]["titleColor"],
        config["title"]["color"],
        config["title"]["subtitleColor"],
        config["legend"]["labelColor"],
        config["text"]["color"],
    }
    for colour in text_colours:
        assert contrast(colour) >= 4.5, colour
    assert contrast(charts.HIGHLIGHT) >= 4.5  # the highlighted bar's value label
    assert round(contrast("#767676"), 1) == 4.5  # sanity: the known AA boundary grey


@pytest.mark.parametrize("name", BUILDERS)
def test_render_logs_no_vega_errors(name, capfd):
    # vl-convert does not raise on a bad spec (e.g. an invalid format string): it logs "ERROR"
    # to stderr and returns a near-empty SVG. Make sure none of our charts does that.
    svg = charts.to_svg(BUILDERS[name][0]())
    err = capfd.readouterr().err
    assert "ERROR" not in err and "WARN" not in err, err
    assert int(re.search(r'height="(\d+)"', svg).group(1)) > 150


def test_a_reused_chart_structure_draws_exactly_what_a_fresh_build_draws():
    from pbc_lib import budget_charts

    def chart(shift: float):
        rows = pd.DataFrame({"year": ["Historic", "2007/08"], "dft": [0.2 + shift, 0.1 + shift]})
        return budget_charts.glide_chart(
            rows, band=0.1, practice="A", title=f"T{shift}", source="S", subtitle="sub"
        )

    charts._TEMPLATES.clear()
    chart(0.0)  # builds and caches the structure
    reused = chart(0.05)
    charts._TEMPLATES.clear()
    fresh = chart(0.05)
    assert reused == fresh
    assert reused["datasets"]["main"][0]["dft"] == pytest.approx(0.25)
    assert charts.chart_meta(reused)["title"] == "T0.05"
    assert charts.to_svg(reused) == charts.to_svg(fresh)
