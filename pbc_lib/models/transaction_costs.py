"""Transaction costs of commissioning configurations, set beside the financial risk each carries.

The same population can be commissioned by many small budget holders or a few large ones. Small
holders are closer to patients but each carries more financial risk (``budget_risk``: the CV of a
year's spend falls as 1/√N) and repeats fixed management costs; large ones pool risk but are
further from practices (Coffey, HSJ, 5 Aug 2004: PCTs should ensure "the enormous transaction
costs of fundholding are not replicated" under practice-based commissioning).

For the fictional PCT (``pbc_lib.data.load_practices()``: 48 practices, 7 localities, 3 predecessor
PCTs) this module builds four configurations and, for each, the management cost (fixed per holder,
per head, and as a share of budget) and the risk each holder carries:

- ``single-practice fundholders``: each practice holds its own budget, with the 1994 stop-loss;
- ``locality clusters``: practice-based commissioning by the 7 localities;
- ``three PCTs of ~100,000``: the predecessor PCTs before the Oct 2006 merger;
- ``one PCT of ~300,000``: the merged PCT.

Management cost of a configuration = PCT overhead (the PCT behind fundholders or clusters) +
Σ over holders (fixed + per head × people + share × budget). Budgets are the scope's mean cost per
head × list size (the need index is left out, so budgets equal the expected spend the risk model
uses). What is sourced: the fundholding allowance (~2% of budgets), the PCT merger saving (£250m
a year from 303 → 152 PCTs) and the Towards PBC payment (95p a head). Everything else is a labelled
[U] assumption in ``DEFAULT_COSTS`` that the user can change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbc_lib.models import budget_risk as br

# --- Published figures -------------------------------------------------------------------------
# [V] fundholders' management allowances were about 2% of their budgets (Hansard, 6 Dec 1994).
FUNDHOLDING_ALLOWANCE_SHARE = 0.02
# [V] England's fundholding management allowances by year (Hansard WA, 19 Jul 1995), plus £12-19m a
# year for computers; management and start-up costs were £147m in 1993/94 (PAC 27th report 1994-95).
FUNDHOLDING_ALLOWANCES_GBP = {
    "1990-91": 6e6,
    "1991-92": 14e6,
    "1992-93": 29e6,
    "1993-94": 49e6,
    "1994-95": 66e6,
}
FUNDHOLDING_COMPUTERS_GBP = (12e6, 19e6)  # [V] a year (Hansard WA, 19 Jul 1995)
OXFORDSHIRE_ADMIN_RATIO = 4.0  # [V] a survey claimed fundholders' admin costs were 4× others'
PCTS_BEFORE_MERGER = 303  # [V] SI 2006/2072
PCTS_AFTER_MERGER = 152  # [V] from 1 Oct 2006
PCT_MERGER_SAVING_GBP = 250e6  # [V] claimed saving a year (digitalhealth.net, May 2006; GPonline)
# [D] £250m / (303 − 152) PCTs = £1.656m a year per PCT abolished. Reading this as the fixed cost of
# running one PCT is an assumption [U]: the claim may include one-off or per-head savings.
PCT_FIXED_COST_GBP = PCT_MERGER_SAVING_GBP / (PCTS_BEFORE_MERGER - PCTS_AFTER_MERGER)
PBC_DES_COMPONENT_2_PER_HEAD_GBP = 0.95  # [V] Towards PBC DES, 2006/07 (BMA guidance, Mar 2007)
PBC_DES_COMPONENT_1_PER_HEAD_GBP = 0.95  # [U] brief: component 1 "also 95p" is unverified
LOCALITY_FIXED_COST_GBP = 100_000.0  # [U] illustrative: a locality manager and finance support
PCT_PER_HEAD_GBP = 0.0  # [U] no source for a PCT's per-head management cost; set your own
MAX_COST_GBP = 1e9  # most accepted for any fixed cost (£ a year)
MAX_PER_HEAD_GBP = 1_000.0  # most accepted per head (£ a year)


class TransactionCostError(ValueError):
    """An input to the transaction-cost model is outside what it accepts."""


@dataclass(frozen=True)
class CostModel:
    """Management costs of one configuration, £ a year.

    ``fixed_gbp`` per holder, ``per_head_gbp`` per person, ``share_of_budget`` of each holder's
    budget, ``overhead_gbp`` once for the configuration (the PCT behind fundholders or clusters),
    and ``cap_gbp``, the per-patient stop-loss the holders enjoy (None for none).
    """

    fixed_gbp: float = 0.0
    per_head_gbp: float = 0.0
    share_of_budget: float = 0.0
    overhead_gbp: float = 0.0
    cap_gbp: float | None = None


CONFIGURATIONS = {  # name -> column of practices.csv that defines the holders (None = one holder)
    "single-practice fundholders": "practice_id",
    "locality clusters": "locality",
    "three PCTs of ~100,000": "predecessor_pct",
    "one PCT of ~300,000": None,
}
DEFAULT_COSTS = {
    # [V] 2% allowance; no fixed or per-head part is sourced; the PCT still exists behind them [D].
    "single-practice fundholders": CostModel(
        share_of_budget=FUNDHOLDING_ALLOWANCE_SHARE,
        overhead_gbp=PCT_FIXED_COST_GBP,
        cap_gbp=br.STOP_LOSS_1994_GBP,
    ),
    # [U] locality fixed cost; per head = DES component 2 [V] + component 1 [U] = £1.90.
    "locality clusters": CostModel(
        fixed_gbp=LOCALITY_FIXED_COST_GBP,
        per_head_gbp=PBC_DES_COMPONENT_2_PER_HEAD_GBP + PBC_DES_COMPONENT_1_PER_HEAD_GBP,
        overhead_gbp=PCT_FIXED_COST_GBP,
    ),
    "three PCTs of ~100,000": CostModel(
        fixed_gbp=PCT_FIXED_COST_GBP, per_head_gbp=PCT_PER_HEAD_GBP
    ),
    "one PCT of ~300,000": CostModel(fixed_gbp=PCT_FIXED_COST_GBP, per_head_gbp=PCT_PER_HEAD_GBP),
}


def _check_cost_model(name: str, model: CostModel) -> None:
    checks = (
        ("fixed_gbp", model.fixed_gbp, MAX_COST_GBP),
        ("per_head_gbp", model.per_head_gbp, MAX_PER_HEAD_GBP),
        ("share_of_budget", model.share_of_budget, 1.0),
        ("overhead_gbp", model.overhead_gbp, MAX_COST_GBP),
    )
    for field, value, high in checks:
        if not (isinstance(value, int | float) and np.isfinite(value) and 0 <= value <= high):
            raise TransactionCostError(
                f"{field} for {name!r} must be a number from 0 to {high:,g}; got {value!r}."
            )
    br.validate_cap(model.cap_gbp)


def holders(practices: pd.DataFrame) -> pd.DataFrame:
    """The budget holders of each configuration: columns configuration, holder, n_people.

    Parameters
    ----------
    practices : pandas.DataFrame
        The practices table (practice_id, locality, predecessor_pct, list_size).
    """
    needed = ["practice_id", "locality", "predecessor_pct", "list_size"]
    missing = [c for c in needed if c not in practices.columns]
    if missing:
        raise TransactionCostError(f"the practices table has no column {', '.join(missing)}.")
    sizes = pd.to_numeric(practices["list_size"], errors="coerce")
    if practices.empty or sizes.isna().any() or (sizes < 1).any():
        raise TransactionCostError("every practice needs a list size of 1 or more.")
    frames = []
    for config, column in CONFIGURATIONS.items():
        key = practices[column] if column else pd.Series("Whole PCT", index=practices.index)
        sums = sizes.groupby(key).sum()
        frames.append(
            pd.DataFrame(
                {"configuration": config, "holder": sums.index.astype(str), "n_people": sums.values}
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["n_people"] = out["n_people"].astype(int)
    return out


def holder_table(
    practices: pd.DataFrame,
    costs: np.ndarray,
    costs_by_config: Mapping[str, CostModel] | None = None,
    k: float = 0.05,
    n_years: int = br.DEFAULT_YEARS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """One row per budget holder: budget, management cost and the financial risk it carries.

    ``costs`` are annual costs per person in the budget's scope (``budget_risk.scope_costs``).
    Budget = mean cost per head × list size (before any stop-loss). Risk is simulated on what the
    holder pays (capped if its ``CostModel`` has a cap) against its own fair budget: cv,
    ``p_overspend`` (spend above budget × (1 + k)), ``overspend_p95_pct`` and
    ``expected_overspend_pct``. The PCT overhead is not in these rows (see ``configuration_table``).
    """
    x = br.validate_costs(costs)
    models = dict(DEFAULT_COSTS if costs_by_config is None else costs_by_config)
    table = holders(practices)
    rows = []
    for (config, group), rng in zip(
        table.groupby("configuration", sort=False),
        br.as_generator(seed).spawn(len(CONFIGURATIONS)),
        strict=True,
    ):
        if config not in models:
            raise TransactionCostError(f"no cost model given for {config!r}.")
        model = models[config]
        _check_cost_model(config, model)
        sizes = sorted(set(group["n_people"]))
        curve = br.risk_curve(x, sizes, n_years, model.cap_gbp, (k,), rng).set_index("n_people")
        risk = curve.loc[group["n_people"]].reset_index()
        budget = group["n_people"].to_numpy() * x.mean()
        cost = model.fixed_gbp + model.per_head_gbp * group["n_people"].to_numpy()
        cost = cost + model.share_of_budget * budget
        rows.append(
            group.assign(
                budget_gbp=budget,
                management_cost_gbp=cost,
                management_pct_of_budget=cost / budget * 100,
                cap_gbp=np.nan if model.cap_gbp is None else model.cap_gbp,
                cv=risk["cv"].to_numpy(),
                p_overspend=risk[br.overspend_column(k)].to_numpy(),
                overspend_p95_pct=risk["overspend_p95_pct"].to_numpy(),
                expected_overspend_pct=risk["expected_overspend_pct"].to_numpy(),
            )
        )
    return pd.concat(rows, ignore_index=True)


def configuration_table(
    practices: pd.DataFrame,
    costs: np.ndarray,
    costs_by_config: Mapping[str, CostModel] | None = None,
    k: float = 0.05,
    n_years: int = br.DEFAULT_YEARS,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """One row per configuration: holders, their sizes, management cost and the risk they carry.

    Columns: configuration, holders, population_min / _median / _max, budget_gbp (all holders),
    holder_costs_gbp, overhead_gbp, management_cost_gbp (= holder costs + overhead),
    management_per_head_gbp, management_pct_of_budget, expected_holders_overspending (Σ of the
    holders' P(overspend > k) a year), p_overspend_median and p_overspend_worst (the median and the
    riskiest holder), overspend_p95_pct_median and _worst, and cap_gbp.
    """
    models = dict(DEFAULT_COSTS if costs_by_config is None else costs_by_config)
    table = holder_table(practices, costs, models, k, n_years, seed)
    rows = []
    for config, g in table.groupby("configuration", sort=False):
        holder_costs = float(g["management_cost_gbp"].sum())
        total = holder_costs + models[config].overhead_gbp
        budget = float(g["budget_gbp"].sum())
        rows.append(
            {
                "configuration": config,
                "holders": len(g),
                "population_min": int(g["n_people"].min()),
                "population_median": float(g["n_people"].median()),
                "population_max": int(g["n_people"].max()),
                "budget_gbp": budget,
                "holder_costs_gbp": holder_costs,
                "overhead_gbp": float(models[config].overhead_gbp),
                "management_cost_gbp": total,
                "management_per_head_gbp": total / float(g["n_people"].sum()),
                "management_pct_of_budget": total / budget * 100,
                "expected_holders_overspending": float(g["p_overspend"].sum()),
                "p_overspend_median": float(g["p_overspend"].median()),
                "p_overspend_worst": float(g["p_overspend"].max()),
                "overspend_p95_pct_median": float(g["overspend_p95_pct"].median()),
                "overspend_p95_pct_worst": float(g["overspend_p95_pct"].max()),
                "cap_gbp": float(g["cap_gbp"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)
