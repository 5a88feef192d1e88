"""Loaders and validation for the project's data tables (``data/NAME.csv`` + ``NAME.csv.yml``).

Every table has a YAML sidecar in one common format: title, description, whether it is synthetic,
how it was made, calibration targets, assumptions, sources and a ``columns`` schema (name, type,
unit, description and optional unique/min/max/allowed/pattern/nullable) with an optional
``unique_together`` key. This module turns that schema into a pandera ``DataFrameSchema`` and
validates each file lazily, so a user sees every problem at once, in plain English:

    data/practices.csv: column `list_size` must be a whole number ≥ 0; row 12 of the data
    (line 13 of the file) has -40.

Extra columns are NOT allowed: a misspelt column name would otherwise slip through as an extra
column plus a missing one (the message suggests the likely intended name).

Column types map to pandas dtypes: string -> str; integer -> int64 (Int64 when nullable);
number -> float64; date -> datetime64 (ISO ``YYYY-MM-DD`` only); category -> text checked
against ``allowed`` (kept as plain text, not a pandas categorical, so that a loaded table can be
edited freely; order age bands with the sidecar's ``allowed`` list where order matters).

The committed tables are validated in full once, when ``data/MANIFEST.sha256`` records their
checksums (``python -m pbc_lib.data --write-manifest``); a kernel loading a file that still matches
only converts its cells to their types, so pandera is imported only when something is validated.

The synthetic tables are made by ``pbc_lib.synth`` (see data/README.md for provenance).
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

if TYPE_CHECKING:  # pandera is imported only when a table is validated (see _load_committed)
    import pandera.pandas as pa

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
REPO_DIR = DATA_DIR.parent
MAX_SHOWN = 10  # problems listed in one message before "and N more"
# The data set's age bands: the HCHS cost-table bands of the domain brief (one definition, used by
# the generator, the models and the charts; population.csv.yml lists the same as `allowed`).
AGE_BANDS = ("0-4", "5-15", "16-44", "45-64", "65-74", "75-84", "85+")
OLDER_BANDS = ("65-74", "75-84", "85+")  # "aged 65 and over"

PANDAS_TYPES = {
    "string": "str",
    "integer": "Int64",
    "number": "float64",
    "category": "str",
    "date": "str",
}
TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "category": "one of the listed values",
    "date": "a date written YYYY-MM-DD",
}
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


class DataValidationError(ValueError):
    """A data file or table does not match its schema; the message lists what is wrong.

    Attributes
    ----------
    source : str
        The file (or table) concerned, e.g. ``data/practices.csv``.
    problems : list of str
        Every problem found, one plain-English sentence each.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(format_problems(source, self.problems))


def format_problems(source: str, problems: list[str]) -> str:
    """One message: a single problem inline, several as a list of up to ``MAX_SHOWN``."""
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    shown = "\n".join(f"  - {p}" for p in problems[:MAX_SHOWN])
    more = len(problems) - MAX_SHOWN
    tail = f"\n  ... and {more} more." if more > 0 else ""
    return f"{source}: {len(problems)} problems found:\n{shown}{tail}"


def display_path(path: Path) -> str:
    """The path as a reader should see it: relative to the repository when inside it."""
    try:
        return Path(path).resolve().relative_to(REPO_DIR).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------------
def sidecar_path(name: str) -> Path:
    """Where table ``name``'s sidecar lives."""
    return DATA_DIR / f"{name}.csv.yml"


def table_names() -> list[str]:
    """Names of every table in ``DATA_DIR`` that has a sidecar, sorted."""
    return sorted(p.name[: -len(".csv.yml")] for p in DATA_DIR.glob("*.csv.yml"))


@functools.cache
def _read_sidecar_cached(name: str) -> dict:
    path = sidecar_path(name)
    if not path.exists():
        known = ", ".join(table_names()) or "none"
        raise DataValidationError(
            display_path(path),
            [f"there is no table called {name!r} (no sidecar file); known tables: {known}."],
        )
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list):
        raise DataValidationError(
            display_path(path),
            ["the sidecar has no `columns` list, so the table cannot be checked."],
        )
    return meta


def read_sidecar(name: str) -> dict:
    """The parsed sidecar of table ``name`` (a fresh copy each call).

    Parameters
    ----------
    name : str
        Table name, e.g. ``"practices"`` for ``data/practices.csv.yml``.

    Returns
    -------
    dict
        The sidecar's contents.
    """
    return yaml.safe_load(yaml.safe_dump(_read_sidecar_cached(name)))


# --------------------------------------------------------------------------------------------
# Reading a CSV file into text cells, with plain-English structural errors
# --------------------------------------------------------------------------------------------
def _read_text(path: Path, source: str) -> str:
    """The file's text, or an error if it is missing, empty or not UTF-8."""
    if not path.exists():
        raise DataValidationError(source, ["the file does not exist (check the name and folder)."])
    if path.is_dir():
        raise DataValidationError(source, ["this is a folder, not a CSV file."])
    raw = path.read_bytes()
    if not raw.strip():
        raise DataValidationError(
            source,
            ["the file is empty (0 bytes); expected a header row of column names and data rows."],
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataValidationError(
            source,
            [
                f"the file is not UTF-8 text: byte 0x{raw[err.start]:02X} on line {line} cannot be "
                "read (it looks like Latin-1/Windows text, e.g. a £ sign). Save it as "
                "'CSV UTF-8' and try again."
            ],
        ) from None


def _parse_csv(text: str, source: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows and each row's line number; errors for ragged or header-only files."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows, lines, problems = [], [], []
    try:
        for record in reader:
            if not record or all(cell.strip() == "" for cell in record):
                continue  # blank lines are ignored
            if header is None:
                header = [h.strip() for h in record]
                twice = sorted({h for h in header if header.count(h) > 1})
                if twice:
                    raise DataValidationError(
                        source,
                        [f"column `{h}` appears more than once in the header." for h in twice],
                    )
                continue
            if len(record) != len(header):
                problems.append(
                    f"line {reader.line_num} has {len(record)} values but the header "
                    f"has {len(header)} columns (a missing or extra comma?)."
                )
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataValidationError(
            source, [f"the file is not valid CSV near line {reader.line_num} ({err})."]
        ) from None
    if header is None:
        raise DataValidationError(source, ["the file has no header row."])
    if problems:
        raise DataValidationError(source, problems)
    if not rows:
        raise DataValidationError(source, ["the file has a header row but no data rows."])
    return header, rows, lines


def _text_frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """All cells as text, blank cells as missing."""
    df = pd.DataFrame(rows, columns=header, dtype="str")
    return df.mask(df.apply(lambda c: c.str.strip() == ""))


# --------------------------------------------------------------------------------------------
# Schemas built from the sidecar
# --------------------------------------------------------------------------------------------
def _pa():
    """pandera, imported on first use: ~13 MiB that a kernel serving only the committed, already
    verified tables never needs (:func:`_load_committed`)."""
    import pandera.pandas as pa

    return pa


def _parse_column(spec: dict, parse_dates: bool) -> pa.Column:
    """A column that only converts text to the column's type (all cells may be blank here)."""
    pa = _pa()
    kind = spec.get("type", "string")
    if kind == "date":
        if parse_dates:
            return pa.Column("datetime64[ns]", coerce=True, nullable=True)
        return pa.Column("str", pa.Check.str_matches(ISO_DATE), coerce=True, nullable=True)
    return pa.Column(PANDAS_TYPES.get(kind, "str"), coerce=True, nullable=True)


def parse_schema(
    meta: dict, present: list[str] | None = None, parse_dates: bool = False
) -> pa.DataFrameSchema:
    """Stage 1: the columns, their names and types (strict: no missing or extra columns)."""
    pa = _pa()
    cols = {
        c["name"]: _parse_column(c, parse_dates)
        for c in meta["columns"]
        if present is None or c["name"] in present
    }
    return pa.DataFrameSchema(cols, strict=present is None)


def _value_checks(spec: dict) -> list[pa.Check]:
    """Range, allowed-values and pattern checks for one column."""
    pa = _pa()
    checks = []
    if spec.get("min") is not None:
        checks.append(pa.Check.ge(spec["min"]))
    if spec.get("max") is not None:
        checks.append(pa.Check.le(spec["max"]))
    if spec.get("allowed") is not None:
        checks.append(pa.Check.isin(list(spec["allowed"])))
    if spec.get("pattern") is not None and spec.get("type") != "date":
        checks.append(pa.Check.str_matches(spec["pattern"]))
    return checks


def check_schema(meta: dict, present: list[str], rules: list[pa.Check]) -> pa.DataFrameSchema:
    """Stage 2: values (nullability, ranges, allowed values, patterns, uniqueness, row rules)."""
    pa = _pa()
    cols = {}
    for spec in meta["columns"]:
        if spec["name"] in present:
            cols[spec["name"]] = pa.Column(
                checks=_value_checks(spec),
                nullable=bool(spec.get("nullable", False)),
                unique=bool(spec.get("unique", False)),
            )
    together = meta.get("unique_together")
    if together and not set(together) <= set(present):
        together = None
    return pa.DataFrameSchema(cols, checks=rules, unique=together)


# Row rules that a column schema cannot express, by table: (left, right, how, message).
ROW_RULES: dict[str, list[tuple[str, str, str]]] = {
    "safety": [
        ("severe_errors", "prescribing_errors", "not be more than"),
        ("prescribing_errors", "items_checked", "not be more than"),
    ],
    "patient_costs": [
        (
            "total_gbp",
            "elective_inpatient_gbp + day_case_gbp + outpatient_gbp + non_elective_gbp + ae_gbp",
            "equal",
        )
    ],
}


def _rule_check(left: str, right: str, how: str) -> pa.Check:
    """A pandera row-wise check for one rule (rows with blanks pass)."""

    def check(df: pd.DataFrame) -> pd.Series:
        lhs = df[left].astype("float64")
        rhs = sum(df[c.strip()].astype("float64") for c in right.split("+"))
        ok = (lhs - rhs).abs() <= 0.011 if how == "equal" else lhs <= rhs
        return ok | lhs.isna() | rhs.isna()

    return _pa().Check(check, name=f"rule:{left}|{right}|{how}")


def _rules(name: str, present: list[str]) -> list[pa.Check]:
    """Row rules of table ``name`` whose columns are all present."""
    out = []
    for left, right, how in ROW_RULES.get(name, []):
        needed = [left] + [c.strip() for c in right.split("+")]
        if set(needed) <= set(present):
            out.append(_rule_check(left, right, how))
    return out


def _failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> pd.DataFrame:
    """pandera's failure cases (empty when the frame passes)."""
    from pandera.errors import SchemaErrors

    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as err:
        return err.failure_cases
    return pd.DataFrame(
        columns=["schema_context", "column", "check", "check_number", "failure_case", "index"]
    )


# --------------------------------------------------------------------------------------------
# Failure cases -> plain English
# --------------------------------------------------------------------------------------------
class _Context:
    """What the message writers need: the schema, the original cells and line numbers."""

    def __init__(self, meta: dict, raw: pd.DataFrame, lines: list[int] | None) -> None:
        self.specs = {c["name"]: c for c in meta["columns"]}
        self.raw = raw
        self.lines = lines

    def where(self, index: int) -> str:
        """'row 12 of the data (line 13 of the file)' for 0-based frame index 11."""
        if self.lines is None:
            return f"row {index + 1}"
        return f"row {index + 1} of the data (line {self.lines[index]} of the file)"

    def rows(self, indexes: list[int]) -> str:
        """'rows 3 and 7 of the data (lines 4 and 8 of the file)'."""
        nums = _and([str(i + 1) for i in indexes])
        if self.lines is None:
            return f"rows {nums}"
        return (
            f"rows {nums} of the data (lines {_and([str(self.lines[i]) for i in indexes])} "
            "of the file)"
        )

    def cell(self, column: str, index: int) -> str:
        """The cell as the user wrote it."""
        value = self.raw.at[index, column]
        return "a blank" if value is None or pd.isna(value) else str(value)


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _number(x: Any) -> str:
    """A bound as a reader writes it: 0 not 0.0, thousands separated."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:,}" if isinstance(x, int) else str(x)


def expectation(spec: dict) -> str:
    """What a column must hold, e.g. 'a whole number ≥ 0' or 'one of: F, M'."""
    if spec.get("allowed") is not None:
        return "one of: " + ", ".join(str(a) for a in spec["allowed"])
    words = TYPE_WORDS.get(spec.get("type", "string"), "text")
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and hi is not None:
        return f"{words} from {_number(lo)} to {_number(hi)}"
    if lo is not None:
        return f"{words} ≥ {_number(lo)}"
    if hi is not None:
        return f"{words} ≤ {_number(hi)}"
    if spec.get("pattern") and spec.get("type") != "date":
        return f"{words} in the form {spec['pattern']}"
    return words


def _bad_type(ctx: _Context, column: str, index: int) -> str:
    """A cell that could not be read as the column's type."""
    spec = ctx.specs[column]
    text = ctx.cell(column, index)
    kind = spec.get("type")
    if kind == "integer" and _is_number(text):
        found = f"{text}, which is not a whole number"
    elif kind == "date" and re.match(ISO_DATE, text.strip()):
        return (
            f"column `{column}` must be a real date written YYYY-MM-DD; {ctx.where(index)} "
            f"has {text}, which is not a date in the calendar."
        )
    elif kind == "date":
        found = f"'{text}'"
    else:
        found = f"the text '{text}'"
        if re.search(r"[0-9]", text) and re.search(r"[,£%\s]", text.strip()):
            found += " (write numbers without commas, £ or % signs)"
    return (
        f"column `{column}` must be {TYPE_WORDS.get(kind, 'text')}; {ctx.where(index)} has {found}."
    )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _value_problem(ctx: _Context, column: str, index: int, check: str) -> str:
    """A cell that has the right type but a wrong value."""
    spec = ctx.specs[column]
    if check == "not_nullable":
        return f"column `{column}` must not be blank; {ctx.where(index)} is blank."
    return (
        f"column `{column}` must be {expectation(spec)}; {ctx.where(index)} has "
        f"{ctx.cell(column, index)}."
    )


def _structure_problems(cases: pd.DataFrame, ctx: _Context) -> list[str]:
    """Missing and unexpected columns."""
    missing = cases.loc[cases["check"] == "column_in_dataframe", "failure_case"].astype(str)
    extra = cases.loc[cases["check"] == "column_in_schema", "failure_case"].astype(str).tolist()
    expected = ", ".join(ctx.specs)
    out = []
    for name in missing:
        hint = difflib.get_close_matches(name, extra, n=1, cutoff=0.5)
        tip = f" The file has a column `{hint[0]}`: is that it, spelt differently?" if hint else ""
        out.append(f"column `{name}` is missing.{tip} Expected columns: {expected}.")
    for name in extra:
        out.append(
            f"unexpected column `{name}`: extra columns are not allowed. Expected "
            f"columns: {expected}."
        )
    return out


def _unique_problems(cases: pd.DataFrame, ctx: _Context) -> list[str]:
    """Repeated values in a unique column."""
    out = []
    rows = cases.loc[cases["check"] == "field_uniqueness"]
    for column, group in rows.groupby("column", sort=False):
        for value, hits in group.groupby(group["failure_case"].astype(str), sort=False):
            idx = sorted(int(i) for i in hits["index"])
            out.append(
                f"column `{column}` must not repeat, but {value} appears in {ctx.rows(idx)}."
            )
    return out


def _together_problems(cases: pd.DataFrame, ctx: _Context, keys: list[str]) -> list[str]:
    """Repeated combinations of the ``unique_together`` columns."""
    rows = cases.loc[cases["check"] == "multiple_fields_uniqueness"]
    if rows.empty:
        return []
    idx = sorted({int(i) for i in rows["index"]})
    combos: dict[tuple, list[int]] = {}
    for i in idx:
        combos.setdefault(tuple(ctx.cell(k, i) for k in keys), []).append(i)
    return [
        f"each combination of {_and(keys)} must appear only once, but ({', '.join(combo)}) "
        f"appears in {ctx.rows(hits)}."
        for combo, hits in combos.items()
    ]


def _rule_problems(cases: pd.DataFrame, ctx: _Context) -> list[str]:
    """Broken row rules (e.g. severe errors more than errors)."""
    out = []
    rows = cases.loc[cases["check"].astype(str).str.startswith("rule:")]
    for check, group in rows.groupby("check", sort=False):
        left, right, how = str(check)[5:].split("|")
        for i in sorted({int(i) for i in group["index"].dropna()}):
            shown = ", ".join(
                f"{c.strip()} = {ctx.cell(c.strip(), i)}" for c in [left] + right.split("+")
            )
            out.append(f"{ctx.where(i)}: `{left}` must {how} {right} ({shown}).")
    return out


def _cell_problems(cases: pd.DataFrame, ctx: _Context, skip: set[tuple[str, int]]) -> list[str]:
    """Type and value problems, one per cell, in row order."""
    found: dict[tuple[int, str], str] = {}
    cell_rows = cases.loc[cases["index"].notna() & cases["column"].isin(list(ctx.specs))]
    for column, check, index in cell_rows[["column", "check", "index"]].itertuples(index=False):
        key = (int(index), str(column))
        check = str(check)
        if (
            (column, int(index)) in skip
            or key in found
            or check.startswith("rule:")
            or "uniqueness" in check
        ):
            continue
        if check.startswith(("coerce_dtype", "dtype")) or (
            ctx.specs[column].get("type") == "date" and check.startswith("str_matches")
        ):
            found[key] = _bad_type(ctx, column, int(index))
        else:
            found[key] = _value_problem(ctx, column, int(index), check)
    return [found[k] for k in sorted(found)]


def _bad_cells(cases: pd.DataFrame) -> set[tuple[str, int]]:
    """(column, index) of cells that could not be converted."""
    rows = cases.loc[cases["index"].notna() & cases["column"].notna()]
    return {(str(c), int(i)) for c, i in rows[["column", "index"]].itertuples(index=False)}


def _convert(
    text: pd.DataFrame, meta: dict, ctx: _Context
) -> tuple[pd.DataFrame, list[str], set[tuple[str, int]]]:
    """Stage 1: check the columns and convert cells to their types.

    Returns the typed frame (unreadable cells blanked), the problems and the blanked cells.
    """
    cases = _failures(parse_schema(meta), text)
    problems = _structure_problems(cases, ctx) + _cell_problems(cases, ctx, set())
    bad = _bad_cells(cases)
    present = [c["name"] for c in meta["columns"] if c["name"] in text.columns]
    typed = text[present].copy()
    for _ in range(2):  # pass 2 parses dates; a date like 2006-02-30 fails only there
        for column, index in bad:
            if column in typed.columns:
                typed.at[index, column] = None
        cases = _failures(parse_schema(meta, present, parse_dates=True), typed)
        if cases.empty:
            break
        problems += _cell_problems(cases, ctx, bad)
        bad |= _bad_cells(cases)
    return parse_schema(meta, present, parse_dates=True).validate(typed), problems, bad


def _final_types(df: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Whole-number columns to int64 where nothing is blank (Int64 otherwise)."""
    for spec in meta["columns"]:
        name = spec["name"]
        if spec.get("type") == "integer" and name in df.columns and not df[name].isna().any():
            df[name] = df[name].astype("int64")
    return df


def _validate_text(
    text: pd.DataFrame, name: str, meta: dict, source: str, lines: list[int] | None
) -> pd.DataFrame:
    """Both stages on a frame of text cells; raise with every problem, or return typed data."""
    text = text.reset_index(drop=True)
    ctx = _Context(meta, text, lines)
    typed, problems, bad = _convert(text, meta, ctx)
    present = list(typed.columns)
    cases = _failures(check_schema(meta, present, _rules(name, present)), typed)
    if not cases.empty:
        problems += _cell_problems(cases, ctx, bad)
        problems += _unique_problems(cases, ctx)
        problems += _together_problems(cases, ctx, meta.get("unique_together") or [])
        problems += _rule_problems(cases, ctx)
    if problems:
        raise DataValidationError(source, problems)
    order = [c["name"] for c in meta["columns"]]
    return _final_types(typed[order], meta)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Any DataFrame as text cells (blanks as missing), for validation."""
    out = pd.DataFrame(index=range(len(df)))
    for column in df.columns:
        values = df[column].tolist()
        out[str(column)] = pd.array([None if _blank(v) else _text(v) for v in values], dtype="str")
    return out


def _blank(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value)) or str(value).strip() == ""
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def validate(df: pd.DataFrame, name: str, source: str | None = None) -> pd.DataFrame:
    """Check a DataFrame against table ``name``'s sidecar schema and return it typed.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, e.g. a user's own practice list (any dtypes; values are read as text first).
    name : str
        Which table's schema to use, e.g. ``"practices"``.
    source : str, optional
        What to call the table in messages (default ``"the NAME table"``).

    Returns
    -------
    pandas.DataFrame
        The table with the schema's column order and types.

    Raises
    ------
    DataValidationError
        Listing every problem found (rows are counted from 1).
    """
    meta = _read_sidecar_cached(name)
    return _validate_text(_as_text(df), name, meta, source or f"the {name} table", None)


def _load_file(name: str, path: Path) -> pd.DataFrame:
    """Read and validate one CSV file against table ``name``'s sidecar."""
    meta = _read_sidecar_cached(name)
    source = display_path(path)
    header, rows, lines = _parse_csv(_read_text(path, source), source)
    return _validate_text(_text_frame(header, rows), name, meta, source, lines)


# --------------------------------------------------------------------------------------------
# The committed tables: validated once when written, verified by checksum when loaded
# --------------------------------------------------------------------------------------------
MANIFEST_NAME = "MANIFEST.sha256"  # `sha256sum` format: "<hex>  <file name>", one line a file


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path | None = None) -> dict[str, str]:
    """File name -> SHA-256 from ``data/MANIFEST.sha256`` (empty if there is none)."""
    path = (folder or DATA_DIR) / MANIFEST_NAME
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, sep, name = line.partition("  ")
        if sep and re.fullmatch(r"[0-9a-f]{64}", digest):
            out[name.strip()] = digest
    return out


def write_manifest(folder: Path | None = None) -> Path:
    """Validate every table in ``folder`` (default ``data/``) in full, cross-table checks
    included, then record the SHA-256 of each CSV file and sidecar in ``MANIFEST.sha256``.

    Nothing is written unless every table passes (the error lists what is wrong).
    ``python -m pbc_lib.data --write-manifest`` runs it; ``make data`` does so after drawing the
    synthetic tables.
    """
    folder = Path(folder or DATA_DIR)
    names = sorted(p.name[: -len(".csv.yml")] for p in folder.glob("*.csv.yml"))
    tables = {}
    for name in names:
        meta = yaml.safe_load((folder / f"{name}.csv.yml").read_text(encoding="utf-8"))
        path = folder / f"{name}.csv"
        source = display_path(path)
        header, rows, lines = _parse_csv(_read_text(path, source), source)
        tables[name] = _validate_text(_text_frame(header, rows), name, meta, source, lines)
    if "practices" in tables:
        check_cross_tables(tables)
    lines_out = [
        f"{_sha256((folder / f).read_bytes())}  {f}"
        for name in names
        for f in (f"{name}.csv", f"{name}.csv.yml")
    ]
    target = folder / MANIFEST_NAME
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(lines_out) + "\n", encoding="utf-8")
    tmp.replace(target)  # all or nothing
    return target


def manifest_problems(folder: Path | None = None) -> list[str]:
    """Files whose SHA-256 differs from the manifest or that it does not list (empty: all match)."""
    folder = Path(folder or DATA_DIR)
    recorded = read_manifest(folder)
    problems = []
    for sidecar in sorted(folder.glob("*.csv.yml")):
        for f in (sidecar.name[: -len(".yml")], sidecar.name):
            path = folder / f
            if f not in recorded:
                problems.append(f"{f} is not in {MANIFEST_NAME}")
            elif not path.exists() or _sha256(path.read_bytes()) != recorded[f]:
                problems.append(f"{f} has changed since {MANIFEST_NAME} was written")
    return problems


def _typed_without_checks(text: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """The text cells converted to the schema's types, as :func:`_validate_text` would return
    them, with no checks: only for files whose checksum says they already passed them."""
    out = {}
    for spec in meta["columns"]:
        col, kind = text[spec["name"]], spec.get("type", "string")
        if kind == "integer":
            col = pd.to_numeric(col).astype("Int64")
        elif kind == "number":
            col = pd.to_numeric(col).astype("float64")
        elif kind == "date":
            col = pd.to_datetime(col, format="%Y-%m-%d").astype("datetime64[ns]")
        else:
            col = col.astype("str")
        out[spec["name"]] = col
    return _final_types(pd.DataFrame(out), meta)


@functools.cache
def _load_committed(name: str) -> pd.DataFrame:
    """A committed table. If its CSV file and sidecar are byte for byte the ones the manifest
    records (validated in full when the manifest was written, and again by the tests), the cells
    are only converted to their types; otherwise the file is validated in full, as any other."""
    path = DATA_DIR / f"{name}.csv"
    recorded = read_manifest()
    sidecar = sidecar_path(name)
    if (
        path.name in recorded
        and sidecar.name in recorded
        and path.exists()
        and sidecar.exists()
        and _sha256(sidecar.read_bytes()) == recorded[sidecar.name]
    ):
        raw = path.read_bytes()
        if _sha256(raw) == recorded[path.name]:
            text = pd.read_csv(io.BytesIO(raw), dtype="str", keep_default_na=False,
                               na_filter=False, encoding="utf-8-sig")  # C parser: lean
            text = text.mask(text.apply(lambda c: c.str.strip() == ""))
            return _typed_without_checks(text, _read_sidecar_cached(name))
    return _load_file(name, path)


def load_table(name: str, path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate a table.

    Parameters
    ----------
    name : str
        Table name: ``data/NAME.csv`` with its sidecar ``data/NAME.csv.yml``.
    path : str or Path, optional
        A user-supplied CSV file to check against NAME's schema instead of the committed file.

    Returns
    -------
    pandas.DataFrame
        A fresh copy (committed tables are cached, so apps can reload them cheaply).

    Raises
    ------
    DataValidationError
        If the file is missing, unreadable or does not match the schema.
    """
    if path is None:
        return _load_committed(name).copy()
    return _load_file(name, Path(path))


def clear_cache() -> None:
    """Forget cached tables and sidecars (after regenerating the data, say)."""
    _load_committed.cache_clear()
    _read_sidecar_cached.cache_clear()


def load_practices() -> pd.DataFrame:
    """Practices: id, name, locality, predecessor PCT, 2006/07 list size, need index."""
    return load_table("practices")


def load_population() -> pd.DataFrame:
    """Registered patients by practice, sex and age band, 2006/07."""
    return load_table("population")


def load_list_sizes() -> pd.DataFrame:
    """Registered patients by practice and financial year, 2004/05 to 2006/07."""
    return load_table("list_sizes")


def load_activity() -> pd.DataFrame:
    """Hospital activity by practice, year and point of delivery."""
    return load_table("activity")


def load_prescribing() -> pd.DataFrame:
    """Prescription items and net ingredient cost by practice and year."""
    return load_table("prescribing")


def load_prices() -> pd.DataFrame:
    """Unit prices by year and point of delivery, 2004/05 to 2007/08."""
    return load_table("prices")


def load_tables(*names: str) -> dict[str, pd.DataFrame]:
    """Several validated tables at once, by name: ``load_tables("practices", "prices")``."""
    unknown = [n for n in names if n not in table_names()]
    if unknown:
        raise ValueError(f"No such table: {', '.join(unknown)}; the tables are "
                         f"{', '.join(table_names())}.")
    return {name: load_table(name) for name in names}


BUDGET_TABLES = ("practices", "population", "activity", "prices", "prescribing", "list_sizes")


def load_safety() -> pd.DataFrame:
    """Consultations, reported incidents and prescribing audit by practice and year."""
    return load_table("safety")


def load_patient_costs() -> pd.DataFrame:
    """One year's hospital costs for a sample of 20,000 people, 2006/07."""
    return load_table("patient_costs")


# --------------------------------------------------------------------------------------------
# Cross-table checks
# --------------------------------------------------------------------------------------------
PRACTICE_TABLES = ("population", "list_sizes", "activity", "prescribing", "safety")


def _unknown_practices(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Practice ids used in a table but absent from practices.csv."""
    known = set(tables["practices"]["practice_id"].astype(str))
    out = []
    for name in PRACTICE_TABLES:
        if name not in tables:
            continue
        ids = tables[name]["practice_id"].astype(str)
        for pid in sorted(set(ids) - known)[:MAX_SHOWN]:
            row = int(ids.tolist().index(pid))
            out.append(
                f"data/{name}.csv: practice_id {pid} (row {row + 1} of the data) is not "
                "in data/practices.csv."
            )
    return out


def _list_totals(tables: dict[str, pd.DataFrame]) -> list[str]:
    """list_size must equal the population total and the 2006/07 registered patients."""
    size = tables["practices"].set_index("practice_id")["list_size"]
    out = []
    if "population" in tables:
        persons = tables["population"].groupby("practice_id", observed=True)["persons"].sum()
        for pid, n in size.items():
            total = int(persons.get(pid, 0))
            if total != n:
                out.append(
                    f"data/population.csv: the rows for {pid} add up to {total:,} "
                    f"persons, but data/practices.csv gives a list size of {n:,}."
                )
    if "list_sizes" in tables:
        ls = tables["list_sizes"]
        now = ls.loc[ls["financial_year"].astype(str) == "2006/07"].set_index("practice_id")[
            "registered_patients"
        ]
        for pid, n in size.items():
            if pid in now.index and int(now[pid]) != n:
                out.append(
                    f"data/list_sizes.csv: {pid} has {int(now[pid]):,} registered "
                    f"patients in 2006/07, but data/practices.csv gives {n:,}."
                )
    return out


def _missing_rows(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Every practice needs a row for every year (and pod) in the yearly tables."""
    out = []
    ids = tables["practices"]["practice_id"].astype(str)
    for name, keys in (
        ("list_sizes", ["financial_year"]),
        ("prescribing", ["financial_year"]),
        ("safety", ["financial_year"]),
        ("activity", ["financial_year", "pod"]),
    ):
        if name not in tables:
            continue
        df = tables[name].astype({k: str for k in ["practice_id"] + keys})
        combos = df[keys].drop_duplicates()
        expected = pd.MultiIndex.from_frame(
            combos.merge(pd.DataFrame({"practice_id": ids}), how="cross")[["practice_id"] + keys]
        )
        have = pd.MultiIndex.from_frame(df[["practice_id"] + keys])
        gaps = expected.difference(have)
        for gap in list(gaps)[:MAX_SHOWN]:
            out.append(f"data/{name}.csv has no row for {', '.join(gap)}.")
    return out


def _missing_prices(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Each priced activity (all but GP referrals) needs a price in each activity year."""
    if "activity" not in tables or "prices" not in tables:
        return []
    act = tables["activity"].astype({"financial_year": str, "pod": str})
    need = act.loc[act["pod"] != "gp_referral", ["financial_year", "pod"]].drop_duplicates()
    prices = tables["prices"].astype({"financial_year": str, "pod": str})
    have = set(zip(prices["financial_year"], prices["pod"], strict=True))
    return [
        f"data/prices.csv has no price for {pod} in {year}."
        for year, pod in need.itertuples(index=False)
        if (year, pod) not in have
    ]


def check_cross_tables(tables: dict[str, pd.DataFrame]) -> None:
    """Checks that span tables; raise one DataValidationError listing every problem.

    Parameters
    ----------
    tables : dict
        Table name -> validated DataFrame; must include ``practices``.
    """
    problems = _unknown_practices(tables) + _list_totals(tables) + _missing_rows(tables)
    problems += _missing_prices(tables)
    if problems:
        raise DataValidationError("cross-table checks", problems)


def load_all() -> dict[str, pd.DataFrame]:
    """Load every table that has a sidecar in ``DATA_DIR`` and run the cross-table checks."""
    tables = {name: load_table(name) for name in table_names()}
    if "practices" in tables:
        check_cross_tables(tables)
    return tables


# --------------------------------------------------------------------------------------------
# Calibration tolerances ("±15%", "±0.5", "±1pp", "at least", "at most", "between A and B")
# --------------------------------------------------------------------------------------------
def tolerance_bounds(value: float, tolerance: str) -> tuple[float, float]:
    """The interval a calibration target allows.

    Parameters
    ----------
    value : float
        The target value.
    tolerance : str
        ``"±15%"`` (relative), ``"±0.5"`` or ``"±1pp"`` (absolute), ``"at least"``,
        ``"at most"`` (value is the bound) or ``"between A and B"``.

    Returns
    -------
    tuple of float
        (low, high), inclusive.
    """
    tol = str(tolerance).strip().replace(",", "")
    if tol == "at least":
        return float(value), math.inf
    if tol == "at most":
        return -math.inf, float(value)
    between = re.fullmatch(r"between\s+(-?[\d.]+)\s+and\s+(-?[\d.]+)", tol)
    if between:
        return float(between.group(1)), float(between.group(2))
    plus = re.fullmatch(r"±\s*([\d.]+)\s*(%|pp)?", tol)
    if not plus:
        raise ValueError(
            f"cannot read the tolerance {tolerance!r}: use ±N%, ±N, ±Npp, "
            "'at least', 'at most' or 'between A and B'."
        )
    width = float(plus.group(1)) * (abs(float(value)) / 100 if plus.group(2) == "%" else 1)
    return float(value) - width, float(value) + width


def calibration_holds(value: float, tolerance: str, achieved: float) -> bool:
    """Whether ``achieved`` lies within ``tolerance`` of ``value`` (bounds inclusive)."""
    lo, hi = tolerance_bounds(value, tolerance)
    return lo - 1e-9 <= float(achieved) <= hi + 1e-9


def main(argv: list[str] | None = None) -> None:
    """``python -m pbc_lib.data --write-manifest``: validate every table, then record checksums."""
    import argparse

    parser = argparse.ArgumentParser(description="Check the data set and record its checksums.")
    parser.add_argument("--write-manifest", action="store_true",
                        help=f"validate every table in full, then write data/{MANIFEST_NAME}")
    parser.add_argument("--folder", default=str(DATA_DIR), help="data folder (default data/)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if args.write_manifest:
        try:
            print(write_manifest(folder))
        except DataValidationError as err:
            raise SystemExit(f"Not written: {err}") from None
        return
    problems = manifest_problems(folder)
    print("\n".join(problems) if problems else f"Every file matches {MANIFEST_NAME}.")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
