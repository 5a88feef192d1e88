"""Calibration of the synthetic data: every target in every sidecar holds on the committed CSVs.

Each metric is computed here, from the raw CSV files with plain pandas, independently of the
generator and the loader; the sidecar's ``achieved`` value must match it too. Structural facts
(three predecessors of 90-110k, list sizes adding up, the age gradient...) are checked as well.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from pbc_lib import data, synth
from pbc_lib.synth import AGE_BANDS, AGE_REL, FEMALE_TO_MALE

OLDER = ["65-74", "75-84", "85+"]
YEARS = ["2004/05", "2005/06", "2006/07"]
NOW = "2006/07"


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    names = synth.TABLES
    return {
        n: pd.read_csv(data.DATA_DIR / f"{n}.csv", dtype={"financial_year": str}) for n in names
    }


# ------------------------------------------------------------------ independent metric code
def rate(t: dict, pod: str, year: str) -> float:
    a, ls = t["activity"], t["list_sizes"]
    count = a[(a.pod == pod) & (a.financial_year == year)].activity.sum()
    return count / ls[ls.financial_year == year].registered_patients.sum() * 1000


def practice_rate(t: dict, pod: str, year: str | None = None) -> pd.Series:
    m = t["activity"][t["activity"].pod == pod].merge(t["list_sizes"])
    if year:
        m = m[m.financial_year == year]
    return (m.activity / m.registered_patients * 1000).set_axis(m.practice_id)


def older_share(t: dict) -> pd.Series:
    p = t["population"]
    return (
        p[p.age_band.isin(OLDER)].groupby("practice_id").persons.sum()
        / p.groupby("practice_id").persons.sum()
    )


def referral_r2(t: dict) -> float:
    pop, prac = t["population"], t["practices"].set_index("practice_id")
    ratio = dict(zip(AGE_BANDS, FEMALE_TO_MALE, strict=True))
    age = dict(zip(AGE_BANDS, AGE_REL["gp_referral"], strict=True))
    w = pop.apply(
        lambda r: (
            age[r.age_band]
            * 2
            * (ratio[r.age_band] if r.sex == "F" else 1)
            / (1 + ratio[r.age_band])
        ),
        axis=1,
    )
    expected = (pop.persons * w).groupby(pop.practice_id).sum() / pop.groupby(
        "practice_id"
    ).persons.sum()
    y = np.log(practice_rate(t, "gp_referral", NOW).sort_index())
    x = np.column_stack(
        [np.ones(len(y)), np.log(expected.loc[y.index]), np.log(prac.need_index.loc[y.index])]
    )
    beta = np.linalg.lstsq(x, y.to_numpy(), rcond=None)[0]
    return 1 - np.var(y.to_numpy() - x @ beta) / np.var(y.to_numpy())


def prescribing_year(t: dict, year: str) -> pd.DataFrame:
    m = t["prescribing"].merge(t["list_sizes"])
    return m[m.financial_year == year]


def top(values: np.ndarray, frac: float) -> float:
    v = np.sort(values)[::-1]
    return v[: int(round(len(v) * frac))].sum() / v.sum() * 100


def cost_per_head(t: dict) -> float:
    pr = t["prices"][t["prices"].financial_year == NOW].set_index("pod").unit_price_gbp
    return sum(rate(t, pod, NOW) / 1000 * pr[pod] for pod in pr.index)


def phi(t: dict) -> float:
    s = t["safety"][t["safety"].financial_year == NOW]
    p0 = s.prescribing_errors.sum() / s.items_checked.sum()
    z = (s.prescribing_errors / s.items_checked - p0) / np.sqrt(p0 * (1 - p0) / s.items_checked)
    return float((z**2).mean())


def metrics() -> dict[str, Callable[[dict], float]]:
    m: dict[str, Callable[[dict], float]] = {
        "list_size_p10": lambda t: np.percentile(t["practices"].list_size, 10),
        "list_size_p90": lambda t: np.percentile(t["practices"].list_size, 90),
        "n_practices": lambda t: len(t["practices"]),
        "pct_list_total": lambda t: t["practices"].list_size.sum(),
        "predecessor_list_min": lambda t: (
            t["practices"].groupby("predecessor_pct").list_size.sum().min()
        ),
        "predecessor_list_max": lambda t: (
            t["practices"].groupby("predecessor_pct").list_size.sum().max()
        ),
        "need_weighted_mean": lambda t: np.average(
            t["practices"].need_index, weights=t["practices"].list_size
        ),
        "older_share_pct": lambda t: (
            t["population"][t["population"].age_band.isin(OLDER)].persons.sum()
            / t["population"].persons.sum()
            * 100
        ),
        "oldest_share_pct": lambda t: (
            t["population"][t["population"].age_band == "85+"].persons.sum()
            / t["population"].persons.sum()
            * 100
        ),
        "practice_older_min_pct": lambda t: older_share(t).min() * 100,
        "practice_older_max_pct": lambda t: older_share(t).max() * 100,
        "list_change_max_pct": lambda t: (
            t["list_sizes"]
            .pivot(index="practice_id", columns="financial_year", values="registered_patients")
            .pct_change(axis=1)
            .abs()
            .max()
            .max()
            * 100
        ),
        "referral_p90_p10": lambda t: (
            np.percentile(practice_rate(t, "gp_referral", NOW), 90)
            / np.percentile(practice_rate(t, "gp_referral", NOW), 10)
        ),
        "referral_practice_min": lambda t: practice_rate(t, "gp_referral").min(),
        "referral_practice_max": lambda t: practice_rate(t, "gp_referral").max(),
        "referral_case_mix_r2": referral_r2,
        "follow_ups_per_first": lambda t: (
            t["activity"].groupby("pod").activity.sum()["op_follow_up"]
            / t["activity"].groupby("pod").activity.sum()["op_first"]
        ),
        "first_attended_share": lambda t: (
            t["activity"][t["activity"].pod == "op_first"].activity.sum()
            / np.round(t["activity"][t["activity"].pod == "gp_referral"].activity * 2.24).sum()
        ),
        "non_elective_corr_older": lambda t: np.corrcoef(
            practice_rate(t, "non_elective", NOW).sort_index(), older_share(t).sort_index()
        )[0, 1],
        "non_elective_corr_need": lambda t: np.corrcoef(
            practice_rate(t, "non_elective", NOW).sort_index(),
            t["practices"].set_index("practice_id").need_index.sort_index(),
        )[0, 1],
        "nic_per_item_2006_07": lambda t: (
            prescribing_year(t, NOW).net_ingredient_cost_gbp.sum()
            / prescribing_year(t, NOW)["items"].sum()
        ),
        "items_corr_older": lambda t: np.corrcoef(
            (lambda d: d["items"] / d.registered_patients)(
                prescribing_year(t, NOW).set_index("practice_id").sort_index()
            ),
            older_share(t).sort_index(),
        )[0, 1],
        "consultations_per_patient_2006_07": lambda t: (
            t["safety"][t["safety"].financial_year == NOW].consultations.sum()
            / t["practices"].list_size.sum()
        ),
        "incidents_per_100k": lambda t: (
            t["safety"].incidents_reported.sum() / t["safety"].consultations.sum() * 1e5
        ),
        "prescribing_error_pct": lambda t: (
            t["safety"].prescribing_errors.sum() / t["safety"].items_checked.sum() * 100
        ),
        "severe_share_pct": lambda t: (
            t["safety"].severe_errors.sum() / t["safety"].prescribing_errors.sum() * 100
        ),
        "error_dispersion_phi": phi,
        "items_checked_mean": lambda t: t["safety"].items_checked.mean(),
        "top1_share_pct": lambda t: top(t["patient_costs"].total_gbp.to_numpy(), 0.01),
        "top5_share_pct": lambda t: top(t["patient_costs"].total_gbp.to_numpy(), 0.05),
        "zero_cost_pct": lambda t: (t["patient_costs"].total_gbp == 0).mean() * 100,
        "mean_vs_activity": lambda t: t["patient_costs"].total_gbp.mean() / cost_per_head(t),
    }
    for y in YEARS:
        k = y.replace("/", "_")
        m[f"referral_rate_{k}"] = lambda t, y=y: rate(t, "gp_referral", y)
        m[f"non_elective_rate_{k}"] = lambda t, y=y: rate(t, "non_elective", y)
        m[f"elective_rate_{k}"] = lambda t, y=y: (
            rate(t, "elective_inpatient", y) + rate(t, "day_case", y)
        )
        m[f"ae_rate_{k}"] = lambda t, y=y: rate(t, "ae_attendance", y)
        m[f"items_per_head_{k}"] = lambda t, y=y: (
            prescribing_year(t, y)["items"].sum() / prescribing_year(t, y).registered_patients.sum()
        )
        m[f"nic_per_head_{k}"] = lambda t, y=y: (
            prescribing_year(t, y).net_ingredient_cost_gbp.sum()
            / prescribing_year(t, y).registered_patients.sum()
        )
    for prev, y in zip(YEARS[:-1], YEARS[1:], strict=True):
        m[f"non_elective_growth_{y.replace('/', '_')}"] = lambda t, p=prev, y=y: (
            (rate(t, "non_elective", y) / rate(t, "non_elective", p) - 1) * 100
        )
    for pod, key in (
        ("op_first", "op_first"),
        ("op_follow_up", "op_follow_up"),
        ("non_elective", "non_elective"),
        ("day_case", "day_case"),
        ("elective_inpatient", "elective"),
    ):
        m[f"price_{key}_2006_07"] = lambda t, pod=pod: (
            t["prices"].set_index(["financial_year", "pod"]).unit_price_gbp[(NOW, pod)]
        )

    def uplift(t: dict) -> pd.Series:
        w = t["prices"].pivot(index="pod", columns="financial_year", values="unit_price_gbp")
        return w["2007/08"] / w["2006/07"]

    m["price_uplift_min"] = lambda t: uplift(t).min()
    m["price_uplift_max"] = lambda t: uplift(t).max()
    for band in AGE_BANDS:
        m[f"age_cost_{band}"] = lambda t, b=band: (lambda g: g[b] / g["16-44"])(
            t["patient_costs"].groupby("age_band").total_gbp.mean()
        )
    return m


METRICS = metrics()


def calibration_entries() -> list[tuple[str, dict]]:
    return [
        (name, entry)
        for name in data.table_names()
        for entry in data.read_sidecar(name).get("calibration") or []
    ]


ENTRIES = calibration_entries()


# ------------------------------------------------------------------ the sidecar targets
def test_there_are_targets_for_every_synthetic_table() -> None:
    tables = {name for name, _ in ENTRIES}
    assert set(synth.TABLES) <= tables


@pytest.mark.parametrize(
    ("table", "entry"), ENTRIES, ids=[f"{t}:{e.get('metric', e['target'])}" for t, e in ENTRIES]
)
def test_calibration_target_holds(raw: dict, table: str, entry: dict) -> None:
    for key in ("target", "value", "tolerance", "tag", "source", "achieved"):
        assert key in entry, f"{table}: calibration entry lacks {key!r}"
    assert entry["tag"] in {"V", "D", "U"}
    computed = float(METRICS[entry["metric"]](raw))
    assert computed == pytest.approx(entry["achieved"], rel=1e-3, abs=1e-3), (
        f"{table}: sidecar says {entry['achieved']} but the CSV gives {computed}"
    )
    assert data.calibration_holds(entry["value"], entry["tolerance"], computed), (
        f"{table}: {entry['target']} = {computed:.4g}, target {entry['value']} {entry['tolerance']}"
    )


# ------------------------------------------------------------------ structural facts
def test_three_predecessors_of_90k_to_110k(raw: dict) -> None:
    by_pct = raw["practices"].groupby("predecessor_pct").list_size.sum()
    assert len(by_pct) == 3
    assert by_pct.between(90_000, 110_000).all()
    assert 40 <= len(raw["practices"]) <= 55
    localities = raw["practices"].groupby("predecessor_pct").locality.nunique()
    assert localities.between(2, 3).all() and 6 <= localities.sum() <= 8


def test_list_size_equals_population_and_2006_07_list(raw: dict) -> None:
    size = raw["practices"].set_index("practice_id").list_size.sort_index()
    persons = raw["population"].groupby("practice_id").persons.sum().sort_index()
    assert (size == persons).all()
    ls = raw["list_sizes"]
    assert (
        ls[ls.financial_year == NOW].set_index("practice_id").registered_patients.sort_index()
        == size
    ).all()


def test_population_shape(raw: dict) -> None:
    p = raw["population"]
    assert sorted(p.age_band.unique()) == sorted(AGE_BANDS)
    assert (p.groupby("practice_id").size() == 14).all()
    assert (
        0.15
        <= raw["population"].pipe(
            lambda d: d[d.age_band.isin(OLDER)].persons.sum() / d.persons.sum()
        )
        <= 0.17
    )
    shares = older_share(raw)
    assert shares.min() < 0.10 and shares.max() > 0.25


def test_referral_variation_mostly_unexplained(raw: dict) -> None:
    assert referral_r2(raw) < 0.2
    rates = practice_rate(raw, "gp_referral")
    assert rates.between(24, 244).all()


def test_emergency_admissions_rise_with_age_share(raw: dict) -> None:
    ne = practice_rate(raw, "non_elective", NOW).sort_index()
    assert np.corrcoef(ne, older_share(raw).sort_index())[0, 1] > 0.3


def test_safety_counts_are_consistent(raw: dict) -> None:
    s = raw["safety"]
    assert (s.severe_errors <= s.prescribing_errors).all()
    assert (s.prescribing_errors <= s.items_checked).all()
    assert s.items_checked.between(150, 800).all()


def test_patient_costs_sample(raw: dict) -> None:
    c = raw["patient_costs"]
    assert len(c) == 20_000 and c.person_id.is_unique
    parts = c[
        ["elective_inpatient_gbp", "day_case_gbp", "outpatient_gbp", "non_elective_gbp", "ae_gbp"]
    ].sum(axis=1)
    assert np.allclose(parts, c.total_gbp, atol=0.011)
    sample_mix = c.groupby(["sex", "age_band"]).size() / len(c)
    pct_mix = raw["population"].groupby(["sex", "age_band"]).persons.sum()
    assert np.abs(sample_mix - pct_mix / pct_mix.sum()).max() < 0.001


def test_cost_rises_steeply_with_age(raw: dict) -> None:
    mean = raw["patient_costs"].groupby("age_band").total_gbp.mean()
    rising = [mean[b] for b in AGE_BANDS[1:]]
    assert rising == sorted(rising), "cost per head should rise from 5-15 to 85+"
    assert mean["0-4"] > mean["5-15"]
    assert mean["85+"] / mean["16-44"] > 5


def test_relative_second_moments_reported(raw: dict) -> None:
    computed = {c["name"]: c["value"] for c in data.read_sidecar("patient_costs")["computed"]}
    c = raw["patient_costs"]
    planned = c.elective_inpatient_gbp + c.day_case_gbp + c.outpatient_gbp
    for label, values in (
        ("total_gbp", c.total_gbp),
        ("elective + day case + outpatient", planned),
    ):
        key = next(k for k in computed if k.endswith(label))
        assert computed[key] == pytest.approx((values**2).mean() / values.mean() ** 2, abs=0.01)


def test_prices_cover_every_year_and_pod(raw: dict) -> None:
    p = raw["prices"]
    assert len(p) == 24 and p.unit_price_gbp.gt(0).all()
    assert (p[p.pod == "ae_attendance"].basis.str.contains("no source")).all() or p[
        (p.pod == "ae_attendance") & (p.financial_year == NOW)
    ].basis.str.contains("no source").all()
