"""Loading and validating the data tables: every committed table loads, and each kind of bad
input gets its own plain-English message naming the file, row, line and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pbc_lib import data, synth
from pbc_lib.data import DataValidationError

JARGON = ("SchemaError", "dtype", "NaN", "Traceback", "coerce", "failure_case", "None")
PRACTICES_CSV = data.DATA_DIR / "practices.csv"


def no_jargon(message: str) -> None:
    for word in JARGON:
        assert word not in message, f"jargon {word!r} in: {message}"


def practices_lines() -> list[str]:
    return PRACTICES_CSV.read_text(encoding="utf-8").splitlines()


def write(tmp_path: Path, lines: list[str], name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def set_cell(lines: list[str], row: int, column: str, value: str) -> list[str]:
    """Replace one cell (row counted from 1 in the data) in simple unquoted CSV lines."""
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    return lines[:row] + [",".join(cells)] + lines[row + 1 :]


def error_for(name: str, path: Path) -> str:
    with pytest.raises(DataValidationError) as info:
        data.load_table(name, path)
    message = str(info.value)
    no_jargon(message)
    return message


# ------------------------------------------------------------------ committed tables
@pytest.mark.parametrize("name", data.table_names())
def test_every_committed_table_loads(name: str) -> None:
    df = data.load_table(name)
    meta = data.read_sidecar(name)
    assert list(df.columns) == [c["name"] for c in meta["columns"]]
    assert len(df) > 0


def test_load_all_runs_cross_table_checks() -> None:
    tables = data.load_all()
    assert set(synth.TABLES) <= set(tables)


def test_convenience_loaders_and_types() -> None:
    practices = data.load_practices()
    assert practices["list_size"].dtype == "int64"
    assert practices["need_index"].dtype == "float64"
    population = data.load_population()
    allowed = next(
        c["allowed"] for c in data.read_sidecar("population")["columns"] if c["name"] == "age_band"
    )
    assert allowed == ["0-4", "5-15", "16-44", "45-64", "65-74", "75-84", "85+"]
    assert set(population["age_band"]) == set(allowed)
    for loader in (
        data.load_list_sizes,
        data.load_activity,
        data.load_prescribing,
        data.load_prices,
        data.load_safety,
        data.load_patient_costs,
    ):
        assert len(loader()) > 0


def test_cached_tables_are_copies() -> None:
    first = data.load_practices()
    first.loc[0, "list_size"] = -1
    assert data.load_practices().loc[0, "list_size"] != -1


def test_data_dir_is_inside_the_repository() -> None:
    assert data.DATA_DIR == Path(data.__file__).resolve().parent.parent / "data"


# ------------------------------------------------------------------ bad files, one by one
def test_negative_list_size_message_names_row_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 12, "list_size", "-40"))
    message = error_for("practices", path)
    assert message.endswith(
        "column `list_size` must be a whole number ≥ 0; row 12 of the "
        "data (line 13 of the file) has -40."
    )
    assert message.startswith(str(path))


def test_text_in_a_number_column(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 5, "list_size", "abc"))
    message = error_for("practices", path)
    assert "column `list_size` must be a whole number" in message
    assert "row 5 of the data (line 6 of the file)" in message
    assert "the text 'abc'" in message


def test_decimal_in_a_whole_number_column(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 3, "list_size", "3000.5"))
    assert "3000.5, which is not a whole number" in error_for("practices", path)


def test_thousands_separator_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 3, "need_index", '"1,2"'))
    message = error_for("practices", path)
    assert "column `need_index` must be a number" in message
    assert "without commas" in message


def test_missing_column(tmp_path: Path) -> None:
    df = pd.read_csv(PRACTICES_CSV).drop(columns="need_index")
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    message = error_for("practices", path)
    assert "column `need_index` is missing" in message
    assert "Expected columns: practice_id" in message


def test_extra_column_is_not_allowed(tmp_path: Path) -> None:
    df = pd.read_csv(PRACTICES_CSV).assign(notes="x")
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    message = error_for("practices", path)
    assert "unexpected column `notes`" in message
    assert "not allowed" in message


def test_misspelt_column_gets_a_suggestion(tmp_path: Path) -> None:
    df = pd.read_csv(PRACTICES_CSV).rename(columns={"list_size": "list size"})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    message = error_for("practices", path)
    assert "column `list_size` is missing. The file has a column `list size`" in message


def test_value_not_in_allowed_list(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 7, "locality", "Atlantis"))
    message = error_for("practices", path)
    assert "column `locality` must be one of: City Centre" in message
    assert "row 7 of the data (line 8 of the file) has Atlantis" in message


def test_blank_cell(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 2, "practice_name", ""))
    assert (
        "column `practice_name` must not be blank; row 2 of the data (line 3 of the file) "
        "is blank." in error_for("practices", path)
    )


def test_pattern(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(practices_lines(), 4, "practice_id", "XX4"))
    message = error_for("practices", path)
    assert "column `practice_id` must be text in the form ^WM[0-9]{3}$" in message
    assert "row 4 of the data (line 5 of the file) has XX4" in message


def test_duplicated_practice_id(tmp_path: Path) -> None:
    lines = practices_lines()
    first_id = lines[1].split(",")[0]
    path = write(tmp_path, set_cell(lines, 2, "practice_id", first_id))
    message = error_for("practices", path)
    assert (
        f"column `practice_id` must not repeat, but {first_id} appears in rows 1 and 2 of "
        "the data (lines 2 and 3 of the file)" in message
    )


def test_duplicated_key_combination(tmp_path: Path) -> None:
    lines = (data.DATA_DIR / "activity.csv").read_text(encoding="utf-8").splitlines()[:20]
    lines = lines[:3] + [lines[1]] + lines[3:]  # row 3 repeats row 1's keys
    path = write(tmp_path, lines)
    message = error_for("activity", path)
    assert (
        "each combination of practice_id, financial_year and pod must appear only once" in message
    )
    assert "rows 1 and 3 of the data (lines 2 and 4 of the file)" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "the file is empty (0 bytes)" in error_for("practices", path)


def test_header_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, practices_lines()[:1])
    assert "has a header row but no data rows" in error_for("practices", path)


def test_not_utf8(tmp_path: Path) -> None:
    lines = practices_lines()
    lines[3] = lines[3].replace("Surgery", "Caf\u00e9 Surgery", 1)
    path = tmp_path / "latin1.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    message = error_for("practices", path)
    assert "not UTF-8" in message
    assert "line 4" in message
    assert "CSV UTF-8" in message


def test_ragged_rows(tmp_path: Path) -> None:
    lines = practices_lines()
    lines[4] = lines[4] + ",extra"
    lines[6] = ",".join(lines[6].split(",")[:-1])
    message = error_for("practices", write(tmp_path, lines))
    assert "line 5 has 7 values but the header has 6 columns" in message
    assert "line 7 has 5 values but the header has 6 columns" in message


def test_file_that_does_not_exist(tmp_path: Path) -> None:
    message = error_for("practices", tmp_path / "nowhere.csv")
    assert "nowhere.csv: the file does not exist" in message


def test_unknown_table_name() -> None:
    with pytest.raises(DataValidationError, match="no table called 'nonsense'"):
        data.load_table("nonsense")


def test_many_problems_are_listed_then_counted(tmp_path: Path) -> None:
    lines = practices_lines()
    for row in range(1, 16):
        lines = set_cell(lines, row, "list_size", "-1")
    message = error_for("practices", write(tmp_path, lines))
    assert message.count("must be a whole number ≥ 0") == data.MAX_SHOWN
    assert "15 problems found" in message
    assert "and 5 more." in message


def test_row_rule_severe_not_more_than_errors(tmp_path: Path) -> None:
    lines = (data.DATA_DIR / "safety.csv").read_text(encoding="utf-8").splitlines()
    lines = set_cell(lines, 2, "severe_errors", "999")
    message = error_for("safety", write(tmp_path, lines))
    assert (
        "row 2 of the data (line 3 of the file): `severe_errors` must not be more than "
        "prescribing_errors (severe_errors = 999" in message
    )


def test_validate_a_users_dataframe() -> None:
    df = data.load_practices()
    df.loc[2, "list_size"] = -40
    with pytest.raises(DataValidationError) as info:
        data.validate(df, "practices")
    assert str(info.value) == (
        "the practices table: column `list_size` must be a whole number ≥ 0; row 3 has -40."
    )


def test_validate_returns_typed_frame() -> None:
    raw = pd.read_csv(PRACTICES_CSV)
    out = data.validate(raw, "practices")
    assert out["locality"].dtype == "str"
    out.loc[0, "locality"] = "Somewhere new"  # plain text: editable after loading
    assert out["list_size"].dtype == "int64"


# ------------------------------------------------------------------ a hand-made sidecar
@pytest.fixture
def events_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    meta = {
        "title": "t",
        "description": "d",
        "synthetic": False,
        "generator": "compiled by hand from the sources below",
        "seed": None,
        "calibration": [],
        "assumptions": ["a plain-text assumption"],
        "sources": ["s"],
        "columns": [
            {"name": "date", "type": "date", "unit": "", "description": "d"},
            {
                "name": "count",
                "type": "integer",
                "unit": "",
                "description": "c",
                "nullable": True,
                "max": 10,
            },
            {"name": "note", "type": "string", "unit": "", "description": "n", "nullable": True},
        ],
    }
    (tmp_path / "events.csv.yml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    data.clear_cache()
    yield tmp_path
    data.clear_cache()


def test_generic_sidecar_with_dates_and_blanks(events_dir: Path) -> None:
    path = write(events_dir, ["date,count,note", "2006-10-01,3,", "2007-04-01,,x"], "events.csv")
    df = data.load_table("events", path)
    assert str(df["date"].dtype).startswith("datetime64")
    assert df["count"].isna().sum() == 1


def test_bad_dates(events_dir: Path) -> None:
    path = write(events_dir, ["date,count,note", "01/10/2006,3,", "2006-02-30,11,x"], "events.csv")
    message = error_for("events", path)
    assert (
        "column `date` must be a date written YYYY-MM-DD; row 1 of the data (line 2 of the "
        "file) has '01/10/2006'" in message
    )
    assert "2006-02-30, which is not a date in the calendar" in message
    assert "column `count` must be a whole number ≤ 10; row 2" in message


# ------------------------------------------------------------------ cross-table checks
def test_cross_table_unknown_practice_and_totals() -> None:
    tables = {
        name: data.load_table(name)
        for name in ("practices", "population", "list_sizes", "activity", "prices")
    }
    tables["activity"].loc[0, "practice_id"] = "WM999"
    tables["practices"].loc[0, "list_size"] += 1
    with pytest.raises(DataValidationError) as info:
        data.check_cross_tables(tables)
    message = str(info.value)
    no_jargon(message)
    assert (
        "data/activity.csv: practice_id WM999 (row 1 of the data) is not in "
        "data/practices.csv" in message
    )
    assert "data/population.csv: the rows for WM001 add up to" in message
    assert "data/list_sizes.csv: WM001 has" in message


def test_cross_table_missing_price() -> None:
    tables = {name: data.load_table(name) for name in ("practices", "activity", "prices")}
    prices = tables["prices"]
    tables["prices"] = prices.loc[
        ~((prices["pod"] == "day_case") & (prices["financial_year"] == "2005/06"))
    ]
    with pytest.raises(DataValidationError, match="no price for day_case in 2005/06"):
        data.check_cross_tables(tables)


# ------------------------------------------------------------------ tolerances
@pytest.mark.parametrize(
    ("value", "tolerance", "bounds"),
    [
        (100, "±15%", (85, 115)),
        (16.0, "±1pp", (15, 17)),
        (2.3, "±0.1", (2.2, 2.4)),
        (2.0, "at least", (2.0, float("inf"))),
        (0.2, "at most", (float("-inf"), 0.2)),
        (100_000, "between 90000 and 110000", (90_000, 110_000)),
    ],
)
def test_tolerance_bounds(value: float, tolerance: str, bounds: tuple[float, float]) -> None:
    lo, hi = data.tolerance_bounds(value, tolerance)
    assert lo == pytest.approx(bounds[0]) and hi == pytest.approx(bounds[1])


def test_tolerance_holds_and_fails() -> None:
    assert data.calibration_holds(2392, "±15%", 2700)
    assert not data.calibration_holds(2392, "±15%", 2800)
    with pytest.raises(ValueError, match="cannot read the tolerance"):
        data.tolerance_bounds(1, "roughly")


# ------------------------------------------------------------------ the data dictionary
@pytest.mark.parametrize("name", synth.TABLES)
def test_readme_documents_every_column(name: str) -> None:
    readme = (data.DATA_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"### {name}.csv")[1].split("\n### ")[0]
    for column in data.read_sidecar(name)["columns"]:
        assert f"| {column['name']} |" in section, f"README lacks {name}.{column['name']}"


def test_load_tables_gives_each_named_table_and_refuses_an_unknown_name():
    tables = data.load_tables(*data.BUDGET_TABLES)
    assert list(tables) == list(data.BUDGET_TABLES)
    pd.testing.assert_frame_equal(tables["prices"], data.load_prices())
    with pytest.raises(ValueError, match="No such table: budgets"):
        data.load_tables("practices", "budgets")
