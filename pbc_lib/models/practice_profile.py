"""A practice's profile against its PCT: list, age-sex structure and activity per 1,000 patients.

Used by the "Start here" practice explorer and reused by later workbooks' data packs. All inputs are
the validated tables from ``pbc_lib.data`` (practices, population, list_sizes, activity,
prescribing); outputs are tidy DataFrames that the chart builders draw.

Rates are crude (per 1,000 registered patients a year), so a practice with an older list will
usually show more emergency admissions: compare the age pyramid before reading the rates. Variation
in GP referral rates between practices is wide and mostly unexplained by age, sex and morbidity
(O'Sullivan, via Pulse: only 1.3% explained across 202 practices).
"""

from __future__ import annotations

import pandas as pd

from pbc_lib.data import AGE_BANDS, OLDER_BANDS

PCT_LABEL = "PCT average"

# Points of delivery in the order a referral pathway runs, with the words a reader sees.
MEASURES = {
    "gp_referral": "GP referrals",
    "op_first": "First outpatient attendances",
    "op_follow_up": "Outpatient follow-ups",
    "elective_inpatient": "Elective inpatient admissions",
    "day_case": "Day cases",
    "non_elective": "Emergency (non-elective) admissions",
    "ae_attendance": "A&E attendances",
}


class ProfileError(ValueError):
    """The practice or year asked for is not in the data."""


def _check_practice(practices: pd.DataFrame, practice_id: str) -> pd.Series:
    match = practices.loc[practices["practice_id"] == practice_id]
    if match.empty:
        raise ProfileError(f"There is no practice with the code {practice_id!r} in the data.")
    return match.iloc[0]


def practices_in_locality(practices: pd.DataFrame, locality: str) -> pd.DataFrame:
    """The practices of one locality, by name, with id and list size."""
    found = practices.loc[practices["locality"] == locality]
    if found.empty:
        raise ProfileError(f"There is no locality called {locality!r} in the data.")
    return found.sort_values("practice_name")[["practice_id", "practice_name", "list_size"]]


def age_sex_shares(population: pd.DataFrame, practice_id: str, label: str) -> pd.DataFrame:
    """Share of the practice's list in each age band and sex, beside the PCT's (shares sum to 1).

    Returns columns age_band, sex, share, group; ``group`` is ``label`` for the practice and
    ``PCT_LABEL`` for the PCT as a whole.
    """
    own = population.loc[population["practice_id"] == practice_id]
    if own.empty:
        raise ProfileError(f"There are no population figures for practice {practice_id!r}.")
    frames = []
    for group, rows in ((label, own), (PCT_LABEL, population)):
        totals = rows.groupby(["age_band", "sex"], observed=True)["persons"].sum()
        share = (totals / totals.sum()).rename("share").reset_index()
        share["group"] = group
        frames.append(share)
    out = pd.concat(frames, ignore_index=True)
    out["age_band"] = pd.Categorical(out["age_band"].astype(str), AGE_BANDS, ordered=True)
    return out.sort_values(["group", "sex", "age_band"], ignore_index=True)


def older_share(population: pd.DataFrame, practice_id: str | None = None) -> float:
    """Share of the list aged 65 and over (the whole PCT when ``practice_id`` is None)."""
    rows = (
        population
        if practice_id is None
        else population.loc[population["practice_id"] == practice_id]
    )
    if rows.empty:
        raise ProfileError(f"There are no population figures for practice {practice_id!r}.")
    older = rows.loc[rows["age_band"].astype(str).isin(OLDER_BANDS), "persons"].sum()
    return float(older / rows["persons"].sum())


def _list_for_year(list_sizes: pd.DataFrame, year: str) -> pd.DataFrame:
    rows = list_sizes.loc[
        list_sizes["financial_year"] == year, ["practice_id", "registered_patients"]
    ]
    if rows.empty:
        raise ProfileError(f"There are no list sizes for {year}.")
    return rows


def activity_rates(
    activity: pd.DataFrame, list_sizes: pd.DataFrame, practice_id: str, year: str
) -> pd.DataFrame:
    """Activity per 1,000 registered patients in ``year``: the practice beside the PCT average.

    The PCT average is total activity over total list (each patient counts once), not the mean of
    practice rates. Returns columns pod, measure, practice_count, practice_rate, pct_rate, ratio.
    """
    lists = _list_for_year(list_sizes, year)
    year_rows = activity.loc[activity["financial_year"] == year]
    own_list = lists.loc[lists["practice_id"] == practice_id, "registered_patients"]
    if own_list.empty:
        raise ProfileError(f"There is no list size for practice {practice_id!r} in {year}.")
    own = year_rows.loc[year_rows["practice_id"] == practice_id].groupby("pod")["activity"].sum()
    total = year_rows.groupby("pod")["activity"].sum()
    out = pd.DataFrame({"pod": [p for p in MEASURES if p in total.index]})
    out["measure"] = out["pod"].map(MEASURES)
    out["practice_count"] = out["pod"].map(own).fillna(0).astype(int)
    out["practice_rate"] = out["practice_count"] / float(own_list.iloc[0]) * 1000
    out["pct_rate"] = out["pod"].map(total) / float(lists["registered_patients"].sum()) * 1000
    out["ratio"] = out["practice_rate"] / out["pct_rate"]
    return out


def prescribing_per_head(
    prescribing: pd.DataFrame, list_sizes: pd.DataFrame, practice_id: str, year: str
) -> dict[str, float]:
    """Items and net ingredient cost per registered patient: the practice and the PCT."""
    lists = _list_for_year(list_sizes, year).set_index("practice_id")["registered_patients"]
    rows = prescribing.loc[prescribing["financial_year"] == year].set_index("practice_id")
    if practice_id not in rows.index or practice_id not in lists.index:
        raise ProfileError(
            f"There are no prescribing figures for practice {practice_id!r} in {year}."
        )
    return {
        "practice_items": float(rows.at[practice_id, "items"] / lists[practice_id]),
        "pct_items": float(rows["items"].sum() / lists.loc[rows.index].sum()),
        "practice_cost": float(
            rows.at[practice_id, "net_ingredient_cost_gbp"] / lists[practice_id]
        ),
        "pct_cost": float(rows["net_ingredient_cost_gbp"].sum() / lists.loc[rows.index].sum()),
    }


def practice_facts(practices: pd.DataFrame, population: pd.DataFrame, practice_id: str) -> dict:
    """Headline facts: name, locality, predecessor PCT, list size and its rank, need, 65+ share."""
    row = _check_practice(practices, practice_id)
    ranked = practices["list_size"].rank(ascending=False, method="min")
    return {
        "practice_id": practice_id,
        "practice_name": row["practice_name"],
        "locality": row["locality"],
        "predecessor_pct": row["predecessor_pct"],
        "list_size": int(row["list_size"]),
        "list_rank": int(ranked.loc[row.name]),
        "practices": int(len(practices)),
        "need_index": float(row["need_index"]),
        "pct_need_index": float(
            (practices["need_index"] * practices["list_size"]).sum() / practices["list_size"].sum()
        ),
        "older_share": older_share(population, practice_id),
        "pct_older_share": older_share(population),
    }


# Measures every practice can be ranked on: label -> (kind, detail, unit shown on the axis).
RANKINGS = {
    "List size": ("list", None, "Registered patients"),
    "Share aged 65 and over": ("older", None, "Share of list aged 65+ (%)"),
    "Additional-need index": ("need", None, "Additional-need index (PCT = 1.00)"),
    "GP referrals per 1,000": ("rate", "gp_referral", "GP referrals per 1,000 patients"),
    "Emergency admissions per 1,000": (
        "rate",
        "non_elective",
        "Emergency admissions per 1,000 patients",
    ),
    "A&E attendances per 1,000": ("rate", "ae_attendance", "A&E attendances per 1,000 patients"),
}


def practice_ranking(
    practices: pd.DataFrame,
    population: pd.DataFrame,
    activity: pd.DataFrame,
    list_sizes: pd.DataFrame,
    measure: str,
    year: str,
) -> pd.DataFrame:
    """Every practice's value of one measure (a key of ``RANKINGS``), largest first.

    List size, 65+ share and need index are 2006/07 snapshots; rates are for ``year``, per 1,000
    registered patients that year. Returns columns practice_id, practice_name, locality, value.
    """
    if measure not in RANKINGS:
        raise ProfileError(
            f"Practices cannot be ranked by {measure!r}; choose one of {', '.join(RANKINGS)}."
        )
    kind, pod, _ = RANKINGS[measure]
    out = practices[["practice_id", "practice_name", "locality"]].copy()
    if kind == "list":
        out["value"] = practices["list_size"].astype(float)
    elif kind == "need":
        out["value"] = practices["need_index"].astype(float)
    elif kind == "older":
        older = population["age_band"].astype(str).isin(OLDER_BANDS)
        totals = population.groupby("practice_id")["persons"].sum()
        old = population.loc[older].groupby("practice_id")["persons"].sum()
        out["value"] = (
            out["practice_id"].map(old.reindex(totals.index, fill_value=0) / totals) * 100
        )
    else:
        lists = _list_for_year(list_sizes, year).set_index("practice_id")["registered_patients"]
        rows = activity.loc[(activity["financial_year"] == year) & (activity["pod"] == pod)]
        counts = rows.groupby("practice_id")["activity"].sum()
        out["value"] = out["practice_id"].map(counts / lists * 1000)
    if out["value"].isna().any():
        missing = ", ".join(out.loc[out["value"].isna(), "practice_id"])
        raise ProfileError(f"No {measure.lower()} figure for {missing} in {year}.")
    return out.sort_values(["value", "practice_name"], ascending=[False, True], ignore_index=True)
