"""Indicative budgets under practice-based commissioning: fair shares, pace of change, savings.

A PCT held the real money; each practice was given an *indicative* budget (PbC, launched Oct 2004;
Health Foundation policy navigator). This module does the sums a PCT finance team did:

1. **Weighted-capitation target** (DH allocations; Smith, Rice & Carr-Hill, JRSS A 2001):
   ``T_i = B * (N_i * a_i * n_i**w * m_i) / sum_j(N_j * a_j * n_j**w * m_j)`` with list size N,
   age-sex cost index a (age-band cost weights applied to the practice's registered patients),
   additional-need index n (weight w, 1 = full effect), market-forces factor m and the pot B.
2. **Historic budget**: the practice's activity at the new year's prices, by point of delivery,
   plus prescribing uplifted for the new year (the 2007/08 rule: DH toolkit, Gateway 6053).
3. **Distance from target** ``DFT_i = (A_i - T_i) / T_i`` and the **pace-of-change blend**
   ``Budget_i = U_i + lambda * (T_i - U_i)`` with U the uplifted historic budget, optionally only
   for practices more than a threshold from target; a multi-year glide path.
4. **Outturn and freed-up resources**: the practice keeps ``share * max(0, budget - outturn)``
   (50% under the 2004 rules, at least 70% from 2006/07); an overspend is carried and must be
   offset within three years; the Towards PBC Directed Enhanced Service paid 95p a patient.

Smith (BMJ 1999;318:776) warned that even a good formula leaves many practices far from budget for
reasons beyond their control, so rewards and penalties should be modest: the workbook shows that
argument beside the sums. One formula is used for the whole budget here; real toolkits had separate
formulas for hospital care and prescribing (Rice et al., BMJ 2000;320:284).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbc_lib.data import AGE_BANDS
from pbc_lib.synth import HCHS_RELATIVE_COST
from pbc_lib.ui import financial_year, parse_financial_year

# --------------------------------------------------------------------------------------------
# Published figures
# --------------------------------------------------------------------------------------------
SAVINGS_SHARE_2004 = 0.50  # [V] Engaging practices in commissioning (Oct 2004), via the Health
# Foundation policy navigator: practices could keep 50% of savings
SAVINGS_SHARE_2006 = 0.70  # [V] Hansard, 6 Nov 2006 (GP budgets): at least 70% from 2006/07
OFFSET_YEARS = 3  # [V] Health Foundation policy navigator: an overspend must be offset within 3
# years, or the practice could lose its budget after arbitration
DES_COMPONENT_2_PER_PATIENT = 0.95  # [V] BMA guidance, Mar 2007: Towards PBC DES component 2,
# 95p per registered patient, not paid where freed-up resources exceeded it
DES_COMPONENT_1_PER_PATIENT = 0.95  # [U] component 1 reported as also 95p (total £1.90)
FAIR_SHARE_BAND = 0.10  # [V] DH toolkit guidance (Gateway 6053): practices more than 10% from
# fair share should move toward it, at a pace that is not "overly aggressive"
TARIFF_UPLIFT_2007 = 0.025  # [V] Reckon, on Nicholson's letter: 2007/08 tariff +2.5%
ALLOCATION_GROWTH = 0.055  # [V] Hansard, Dec 2008: PCT allocations rose 5.5% in each of 2009-11
AGE_COST_WEIGHTS: dict[str, float] = dict(zip(AGE_BANDS, HCHS_RELATIVE_COST, strict=True))
# [D] relative HCHS cost per head by age band, 16-44 = 1 (brief, from HCHS spend 2003-04 by age)
# Age weightings a user can choose between: the cost weights, half their effect (square roots, a
# flatter curve), or none (a head count). Only the first rests on a source; the others show what
# the choice does.
AGE_WEIGHTINGS: dict[str, dict[str, float]] = {
    "Hospital cost by age (HCHS spend, 2003-04)": AGE_COST_WEIGHTS,
    "Half the age effect (square root of the cost weights)": {
        band: round(w**0.5, 3) for band, w in AGE_COST_WEIGHTS.items()
    },
    "No age weighting (a head count)": dict.fromkeys(AGE_COST_WEIGHTS, 1.0),
}

NUFFIELD_SPREAD = {0.05: 0.53, 0.10: 0.26, 0.20: 0.11}  # [V] HSJ Finance Maven on Nuffield's
# analysis of 8,238 practices: share of practices whose acute spend was more than 5/10/20% off
# target (roughly symmetric around zero)
NUFFIELD_SOURCE = "Nuffield Trust analysis of 8,238 practices, via HSJ (c. 2010)"
SURVEY_2008_WITHIN_BAND = 0.70  # [V] Pulse: a 2008 survey found 70% of budgets within 10%

BUDGET_YEAR = "2007/08"  # the year the workbook sets budgets for
ACTIVITY_YEAR = "2006/07"  # the last full year of activity in the data
MAX_PATH_YEARS = 10  # longest glide path the app may ask for (keeps every control bounded)

# Budget components in the order a statement lists them, with the words a reader sees.
COMPONENTS = {
    "op_first": "First outpatient attendances",
    "op_follow_up": "Outpatient follow-ups",
    "elective_inpatient": "Elective inpatient admissions",
    "day_case": "Day cases",
    "non_elective": "Emergency admissions",
    "ae_attendance": "A&E attendances",
    "prescribing": "Prescribing",
}
# Savings scenarios act on groups of components (what a practice can try to change).
SAVING_GROUPS = {
    "outpatients": ("op_first", "op_follow_up"),
    "planned": ("elective_inpatient", "day_case"),
    "emergency": ("non_elective", "ae_attendance"),
    "prescribing": ("prescribing",),
}
SAVING_GROUP_LABELS = {
    "outpatients": "Outpatient attendances",
    "planned": "Planned admissions",
    "emergency": "Emergency care",
    "prescribing": "Prescribing",
}


class BudgetError(ValueError):
    """An input to the budget model is out of range or missing."""


def _fraction(name: str, value: float, low: float = 0.0, high: float = 1.0) -> float:
    value = float(value)
    if not np.isfinite(value) or not low <= value <= high:
        raise BudgetError(f"{name} must be between {low:g} and {high:g}; got {value:g}.")
    return value


def next_year(year: str, step: int = 1) -> str:
    """The financial year ``step`` years after ``year`` ("2007/08", 1 -> "2008/09")."""
    return financial_year(parse_financial_year(year) + step)


# --------------------------------------------------------------------------------------------
# 1. Weighted-capitation targets
# --------------------------------------------------------------------------------------------
def age_cost_index(
    population: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.Series:
    """Each practice's age-sex cost index: sum over bands of persons x weight, over persons.

    With the default weights a practice of 16-44 year-olds has index 1.0; an older list is higher.
    """
    weights = dict(AGE_COST_WEIGHTS if weights is None else weights)
    missing = [band for band in AGE_BANDS if band not in weights]
    if missing:
        raise BudgetError(f"An age-cost weight is needed for every age band; missing {missing}.")
    bad = {band: w for band, w in weights.items() if not (np.isfinite(w) and w >= 0)}
    if bad or not any(weights.values()):
        raise BudgetError(f"Age-cost weights must be numbers ≥ 0, not all zero; got {weights}.")
    bands = population["age_band"].astype(str)
    weighted = population["persons"] * bands.map(weights)
    grouped = pd.DataFrame({"practice_id": population["practice_id"], "w": weighted})
    grouped["persons"] = population["persons"]
    totals = grouped.groupby("practice_id", sort=True)[["w", "persons"]].sum()
    return (totals["w"] / totals["persons"]).rename("age_index")


def capitation_targets(
    practices: pd.DataFrame,
    population: pd.DataFrame,
    pot: float,
    *,
    weights: Mapping[str, float] | None = None,
    need_weight: float = 1.0,
    mff: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Fair-share targets: the pot shared in proportion to each practice's weighted population.

    ``need_weight`` scales the additional-need index on a log scale (0 ignores need, 1 uses it in
    full); ``mff`` maps practice_id to a market-forces factor (1 for all when omitted: within one
    PCT every practice shares the PCT's factor, so it cancels). Returns one row per practice with
    list_size, age_index, need_index, need_used, mff, weighted_population, share and target (£,
    apportioned to the penny so the targets add up exactly to the pot).
    """
    need_weight = _fraction("The weight on the need index", need_weight)
    if not np.isfinite(pot) or pot <= 0:
        raise BudgetError(f"The pot to share must be more than £0; got {pot}.")
    out = practices[["practice_id", "list_size", "need_index"]].copy()
    if out.empty:
        raise BudgetError("There are no practices to share the pot between.")
    out["age_index"] = out["practice_id"].map(age_cost_index(population, weights))
    if out["age_index"].isna().any():
        lacking = out.loc[out["age_index"].isna(), "practice_id"].tolist()
        raise BudgetError(f"There are no population figures for practice(s) {lacking}.")
    out["need_used"] = out["need_index"] ** need_weight
    out["mff"] = out["practice_id"].map(dict(mff or {})).fillna(1.0)
    out["weighted_population"] = out["list_size"] * out["age_index"] * out["need_used"] * out["mff"]
    total = out["weighted_population"].sum()
    if total <= 0:
        raise BudgetError("The weighted populations add up to zero, so no share can be worked out.")
    out["share"] = out["weighted_population"] / total
    out["target"] = apportion(pot, out["share"].to_numpy())
    return out.reset_index(drop=True)


def apportion(total: float, shares: np.ndarray) -> np.ndarray:
    """Split ``total`` pounds by ``shares`` to the penny, largest remainders first.

    The pence add up exactly to the total's pence, so no penny is created or lost.
    """
    pence = int(round(total * 100))
    exact = np.asarray(shares, dtype=float) / np.sum(shares) * pence
    floor = np.floor(exact).astype(np.int64)
    short = pence - int(floor.sum())
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:short]] += 1
    return floor / 100.0


# --------------------------------------------------------------------------------------------
# 2. Historic budgets
# --------------------------------------------------------------------------------------------
def prescribing_growth(prescribing: pd.DataFrame, list_sizes: pd.DataFrame, year: str) -> float:
    """The PCT's growth in prescribing cost per head from the year before ``year`` to ``year``.

    Used as the default prescribing uplift for the next year [D from the data set].
    """
    before = next_year(year, -1)
    per_head = {}
    for y in (before, year):
        nic = prescribing.loc[prescribing["financial_year"] == y, "net_ingredient_cost_gbp"].sum()
        heads = list_sizes.loc[list_sizes["financial_year"] == y, "registered_patients"].sum()
        if nic <= 0 or heads <= 0:
            raise BudgetError(f"There are no prescribing figures or list sizes for {y}.")
        per_head[y] = nic / heads
    return per_head[year] / per_head[before] - 1


def budget_components(
    activity: pd.DataFrame,
    prices: pd.DataFrame,
    prescribing: pd.DataFrame,
    *,
    activity_year: str = ACTIVITY_YEAR,
    price_year: str = BUDGET_YEAR,
    prescribing_uplift: float,
) -> pd.DataFrame:
    """Each practice's historic budget by component: last year's activity at the new prices.

    Returns long rows: practice_id, component, label, activity (count; NaN for prescribing),
    unit_price, cost (£). Prescribing is last year's net ingredient cost x (1 + uplift).
    """
    _fraction("The prescribing uplift", prescribing_uplift, -0.5, 0.5)
    acts = activity.loc[activity["financial_year"] == activity_year]
    year_prices = prices.loc[prices["financial_year"] == price_year, ["pod", "unit_price_gbp"]]
    if acts.empty or year_prices.empty:
        raise BudgetError(
            f"No activity for {activity_year} or no prices for {price_year} in the data."
        )
    priced = acts.merge(year_prices, on="pod", how="inner")
    hospital = pd.DataFrame(
        {
            "practice_id": priced["practice_id"],
            "component": priced["pod"],
            "activity": priced["activity"].astype(float),
            "unit_price": priced["unit_price_gbp"],
            "cost": priced["activity"] * priced["unit_price_gbp"],
        }
    )
    rx = prescribing.loc[prescribing["financial_year"] == activity_year]
    if rx.empty:
        raise BudgetError(f"No prescribing figures for {activity_year} in the data.")
    drugs = pd.DataFrame(
        {
            "practice_id": rx["practice_id"],
            "component": "prescribing",
            "activity": np.nan,
            "unit_price": np.nan,
            "cost": rx["net_ingredient_cost_gbp"] * (1 + prescribing_uplift),
        }
    )
    out = pd.concat([hospital, drugs], ignore_index=True)
    out["label"] = out["component"].map(COMPONENTS)
    out["order"] = out["component"].map({c: i for i, c in enumerate(COMPONENTS)})
    out = out.sort_values(["practice_id", "order"], kind="stable")
    return out.reset_index(drop=True)[
        ["practice_id", "component", "label", "activity", "unit_price", "cost"]
    ]


def historic_budgets(components: pd.DataFrame) -> pd.Series:
    """Total historic budget per practice (£), indexed by practice_id."""
    return components.groupby("practice_id", sort=True)["cost"].sum().rename("historic")


# --------------------------------------------------------------------------------------------
# 3. Distance from target and pace of change
# --------------------------------------------------------------------------------------------
def distance_from_target(budget: pd.Series | np.ndarray, target: pd.Series | np.ndarray):
    """(budget - target) / target: +0.10 means 10% over fair share."""
    return (budget - target) / target


def spread_summary(dft: pd.Series, bands: tuple[float, ...] = (0.05, 0.10, 0.20)) -> pd.DataFrame:
    """Share of practices more than each band from target, beside Nuffield's national figure."""
    dft = pd.Series(dft, dtype=float)
    if dft.empty:
        raise BudgetError("There are no practices to summarise.")
    rows = []
    for band in bands:
        rows.append(
            {
                "band": band,
                "practices": int((dft.abs() > band).sum()),
                "share": float((dft.abs() > band).mean()),
                "over": int((dft > band).sum()),
                "under": int((dft < -band).sum()),
                "national_share": NUFFIELD_SPREAD.get(band, np.nan),
            }
        )
    return pd.DataFrame(rows)


def pace_of_change(
    uplifted: pd.Series, target: pd.Series, lam: float, threshold: float = 0.0
) -> pd.Series:
    """Next year's budgets: each practice moves a fraction ``lam`` of the way to its target.

    Only practices whose uplifted historic budget is more than ``threshold`` from target move.
    The pot is conserved: whatever the moves add up to is spread over every practice in
    proportion to its budget, so the budgets sum to what the uplifted budgets sum to. With
    ``lam = 0`` every practice keeps its uplifted historic budget; with ``lam = 1`` and no
    threshold every practice gets its target (when the targets share the same pot).
    """
    lam = _fraction("The pace of change (λ)", lam)
    threshold = _fraction("The threshold", threshold, 0.0, 10.0)
    uplifted, target = uplifted.astype(float), target.reindex(uplifted.index).astype(float)
    if target.isna().any():
        raise BudgetError("Every practice needs a target before its budget can be set.")
    dft = distance_from_target(uplifted, target)
    moves = (dft.abs() > threshold) & (lam > 0)
    budget = uplifted + np.where(moves, lam * (target - uplifted), 0.0)
    return (budget * (uplifted.sum() / budget.sum())).rename("budget")


@dataclass(frozen=True)
class PathSettings:
    """How a PCT moves budgets toward fair shares year after year."""

    lam: float = 0.25  # [U] illustrative: a quarter of the gap closed each year
    threshold: float = FAIR_SHARE_BAND
    growth: float = ALLOCATION_GROWTH
    years: int = 5
    max_cut: float | None = None  # largest cash cut any practice may take in a year (0.03 = 3%)

    def checked(self) -> PathSettings:
        _fraction("The pace of change (λ)", self.lam)
        _fraction("The threshold", self.threshold, 0.0, 1.0)
        _fraction("Growth in the pot", self.growth, -0.2, 0.5)
        if not 1 <= int(self.years) <= MAX_PATH_YEARS or int(self.years) != self.years:
            raise BudgetError(
                f"The glide path covers 1 to {MAX_PATH_YEARS} whole years; got {self.years}."
            )
        if self.max_cut is not None:
            _fraction("The largest cut allowed in a year", self.max_cut)
        return self


def _protect(budget: pd.Series, previous: pd.Series, max_cut: float) -> pd.Series:
    """Hold every budget at or above ``previous * (1 - max_cut)``, paid for by the gainers.

    The cost of the floor comes out of the gains of practices whose budget rose more than the
    average; if the gains are too small, everyone above the floor pays in proportion.
    """
    floor = previous * (1 - max_cut)
    held = budget.clip(lower=floor)
    cost = float(held.sum() - budget.sum())
    if cost <= 0:
        return held
    gain = (held - previous * (held.sum() / previous.sum())).clip(lower=0)
    if gain.sum() >= cost:
        return held - gain * (cost / gain.sum())
    room = held - floor
    return held - room * (cost / room.sum()) if room.sum() > 0 else held


def glide_path(
    historic: pd.Series, shares: pd.Series, settings: PathSettings, start_year: str = BUDGET_YEAR
) -> pd.DataFrame:
    """Budgets year by year as the pot grows and practices move toward their targets.

    ``historic`` is each practice's uplifted historic budget for ``start_year`` (step 0, before
    any move); ``shares`` its fair share of the pot (summing to 1). At each step (step 1 is
    ``start_year``) the pot and every budget grow by ``settings.growth``, then
    :func:`pace_of_change` moves practices toward target; as the move is proportional, each
    practice's distance from target at step 1 is the same as in the one-year PCT view whatever
    the growth. ``max_cut`` optionally protects every practice from a cash cut larger than that in
    any step. Returns long rows:
    practice_id, step, year, budget, target, dft, change (cash change on the step before).
    """
    settings = settings.checked()
    shares = shares.reindex(historic.index).astype(float)
    if shares.isna().any() or not np.isclose(shares.sum(), 1.0):
        raise BudgetError("Every practice needs a fair share, and the shares must add up to 1.")
    budget = historic.astype(float)
    pot = float(budget.sum())
    frames = [_path_rows(budget, shares * pot, budget, 0, start_year)]
    for step in range(1, int(settings.years) + 1):
        pot *= 1 + settings.growth
        previous, target = budget, shares * pot
        budget = pace_of_change(
            previous * (1 + settings.growth), target, settings.lam, settings.threshold
        )
        if settings.max_cut is not None:
            budget = _protect(budget, previous, settings.max_cut)
        frames.append(_path_rows(budget, target, previous, step, next_year(start_year, step - 1)))
    return pd.concat(frames, ignore_index=True)


def _path_rows(
    budget: pd.Series, target: pd.Series, previous: pd.Series, step: int, year: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "practice_id": budget.index,
            "step": step,
            "year": year,
            "budget": budget.to_numpy(),
            "target": target.to_numpy(),
            "dft": distance_from_target(budget, target).to_numpy(),
            "change": (budget / previous - 1).to_numpy(),
        }
    )


def years_to_band(path: pd.DataFrame, band: float = FAIR_SHARE_BAND) -> pd.Series:
    """Years each practice takes to come within ``band`` of target (0 if it starts within it).

    Counts the first year from which the practice stays within the band to the end of the path;
    NaN where it is still outside at the end.
    """
    outside = path.assign(out=path["dft"].abs() > band + 1e-12)
    last_out = outside.loc[outside["out"]].groupby("practice_id")["step"].max()
    ids = path["practice_id"].drop_duplicates()
    end = path["step"].max()
    years = ids.map(lambda p: 0 if p not in last_out.index else last_out[p] + 1).astype(float)
    years[years > end] = np.nan
    return pd.Series(years.to_numpy(), index=ids.to_numpy(), name="years_to_band")


def winners_and_losers(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Cash change per practice from ``before`` to ``after`` (£ and %), biggest loss first."""
    after = after.reindex(before.index)
    out = pd.DataFrame({"before": before, "after": after})
    out["change"] = out["after"] - out["before"]
    out["change_pct"] = out["change"] / out["before"]
    return out.sort_values("change").rename_axis("practice_id").reset_index()


# --------------------------------------------------------------------------------------------
# 4. Outturn, freed-up resources and the DES
# --------------------------------------------------------------------------------------------
def forecast_outturn(components: pd.DataFrame, changes: Mapping[str, float]) -> pd.DataFrame:
    """One practice's components with a savings scenario applied.

    ``changes`` maps a saving group (see ``SAVING_GROUPS``) to a proportional change in spend,
    e.g. ``{"outpatients": -0.10}`` is 10% fewer outpatient attendances. Adds columns change and
    outturn (£) to the component rows.
    """
    unknown = set(changes) - set(SAVING_GROUPS)
    if unknown:
        raise BudgetError(f"Unknown savings group(s) {sorted(unknown)}; use {list(SAVING_GROUPS)}.")
    group_of = {c: g for g, members in SAVING_GROUPS.items() for c in members}
    out = components.copy()
    change = (
        out["component"]
        .map(group_of)
        .map(
            {
                g: _fraction(f"The change in {SAVING_GROUP_LABELS[g].lower()}", v, -0.5, 0.5)
                for g, v in changes.items()
            }
        )
    )
    out["change"] = change.fillna(0.0).astype(float)
    out["outturn"] = out["cost"] * (1 + out["change"])
    return out


def freed_up_resources(budget: float, outturn: float, share: float = SAVINGS_SHARE_2006) -> float:
    """The practice's share of any underspend: ``share * max(0, budget - outturn)`` (£)."""
    share = _fraction("The practice's share of savings", share)
    return share * max(0.0, float(budget) - float(outturn))


def des_payment(list_size: float, per_patient: float = DES_COMPONENT_2_PER_PATIENT) -> float:
    """The Towards PBC DES component 2 for a list: 95p per registered patient (£)."""
    if not np.isfinite(list_size) or list_size < 0:
        raise BudgetError(f"A list size must be a number ≥ 0; got {list_size}.")
    return float(list_size) * per_patient


def incentives(list_size: float, budget: float, outturn: float, share: float) -> pd.DataFrame:
    """Freed-up resources beside the DES component 2 payment, with the BMA rule applied.

    The DES was not paid where freed-up resources exceeded it (BMA guidance, Mar 2007).
    """
    freed = freed_up_resources(budget, outturn, share)
    des = des_payment(list_size)
    des_paid = 0.0 if freed > des else des
    rows = [
        ("Freed-up resources (the practice's share of the underspend)", freed, freed),
        ("Towards PBC DES component 2 (95p a patient)", des, des_paid),
    ]
    out = pd.DataFrame(rows, columns=["incentive", "due", "paid"])
    out["per_patient"] = out["paid"] / list_size if list_size else np.nan
    return out


def settle_years(
    budgets: list[float] | np.ndarray,
    outturns: list[float] | np.ndarray,
    share: float = SAVINGS_SHARE_2006,
    offset_years: int = OFFSET_YEARS,
) -> pd.DataFrame:
    """Year-by-year settlement: overspends carried forward and offset from later underspends.

    An underspend first repays any overspend still carried; only what is left is freed up, and the
    practice gets ``share`` of it. An overspend not cleared within ``offset_years`` (counting the
    year it arose) is flagged: under the rules the practice could then lose its budget after
    arbitration. Returns one row per year with budget, outturn, variance, repaid, freed_up,
    carried (overspend still owed at year end) and status.
    """
    budgets, outturns = np.asarray(budgets, float), np.asarray(outturns, float)
    if budgets.shape != outturns.shape or budgets.ndim != 1 or budgets.size == 0:
        raise BudgetError("Give one outturn for each budget year (at least one year).")
    if budgets.size > MAX_PATH_YEARS:
        raise BudgetError(f"At most {MAX_PATH_YEARS} years can be settled; got {budgets.size}.")
    share = _fraction("The practice's share of savings", share)
    debts: list[list[float]] = []  # [year arisen, amount still owed], oldest first
    rows = []
    for year, (budget, outturn) in enumerate(zip(budgets, outturns, strict=True)):
        variance = budget - outturn
        repaid = 0.0
        if variance < 0:
            debts.append([year, -variance])
        surplus = max(variance, 0.0)
        while debts and surplus > 0:
            pay = min(surplus, debts[0][1])
            debts[0][1] -= pay
            surplus -= pay
            repaid += pay
            if debts[0][1] <= 1e-9:
                debts.pop(0)
        overdue = any(year - arisen + 1 >= offset_years for arisen, _ in debts)
        carried = sum(amount for _, amount in debts)
        status = (
            f"Overspend not offset within {offset_years} years: budget at risk"
            if overdue
            else ("Overspend carried forward" if carried > 0 else "In balance")
        )
        rows.append((year, budget, outturn, variance, repaid, share * surplus, carried, status))
    columns = ["year", "budget", "outturn", "variance", "repaid", "freed_up", "carried", "status"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# The whole PCT in one table
# --------------------------------------------------------------------------------------------
def pct_budgets(
    practices: pd.DataFrame,
    historic: pd.Series,
    targets: pd.DataFrame,
    lam: float,
    threshold: float = 0.0,
) -> pd.DataFrame:
    """One row per practice: historic budget, fair share, distance, and this year's budget.

    ``historic`` is indexed by practice_id; ``targets`` is :func:`capitation_targets`' output.
    Columns: practice_id, practice_name, locality, list_size, historic, target, share,
    dft_before, budget, dft_after, change (£) and change_pct (against the historic budget).
    """
    t = targets.set_index("practice_id")
    out = practices.set_index("practice_id")[["practice_name", "locality", "list_size"]].copy()
    out["historic"] = historic.reindex(out.index)
    if out["historic"].isna().any():
        raise BudgetError("Every practice needs a historic budget before budgets can be set.")
    out["target"] = t["target"].reindex(out.index)
    out["share"] = t["share"].reindex(out.index)
    out["dft_before"] = distance_from_target(out["historic"], out["target"])
    out["budget"] = pace_of_change(out["historic"], out["target"], lam, threshold)
    out["dft_after"] = distance_from_target(out["budget"], out["target"])
    out["change"] = out["budget"] - out["historic"]
    out["change_pct"] = out["change"] / out["historic"]
    return out.reset_index()
