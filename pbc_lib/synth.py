"""Seeded generator for the synthetic data set of "Wyndmoor PCT" (fictional).

Wyndmoor PCT was formed on 1 Oct 2006 by merging three predecessor PCTs of about 100,000 people
each, as 303 PCTs became 152 (SI 2006/2072). This module draws its practices, registered
populations, hospital activity, prescribing, safety audits, tariff prices and a person-level sample
of annual hospital costs, calibrated to the ranges in the project's domain brief, and writes each
table as ``data/NAME.csv`` with a ``data/NAME.csv.yml`` sidecar (schema, calibration targets with
the values achieved, assumptions and sources).

Every generator parameter is a named constant below, tagged:
[V] seen in a cited source; [D] derived from [V] figures (arithmetic in the comment);
[U] an unverified, changeable assumption.

Main sources (full citations are written into each sidecar): BJGP list-size distribution 2011-12;
Health Committee HC 1692-i (HCHS spend by age, 2003-04); HES outpatient and referral counts;
O'Sullivan (via Pulse) on unexplained referral variation; CHKS/HSJ emergency admission and A&E
rates 2003/04-2005/06; prescribing per head 2006 and 2010; Sandars & Esmail, Fam Pract 2003;
Avery et al., PRACtICe, GMC 2012; Kelly, Stoye & Vera-Hernandez, Fiscal Studies 2016; Health
Foundation 2019 high-cost patients; HFMA 2016/17 reference costs; Reckon on the 2007/08 tariff.

Run ``python -m pbc_lib.synth [--out DIR] [--seed N]`` to regenerate every file. Output is byte-for
-byte reproducible for a given seed: numbers are formatted explicitly, rows are sorted, lines end
in "\\n" and YAML keys keep their insertion order.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pbc_lib.data import AGE_BANDS, OLDER_BANDS

# --------------------------------------------------------------------------------------------
# Seeds and structure
# --------------------------------------------------------------------------------------------
MASTER_SEED = 20061001  # the merger date, 1 Oct 2006; any integer works
# One independent random stream per table (numpy SeedSequence.spawn), in this fixed order.
STREAMS = (
    "practices",
    "population",
    "list_sizes",
    "activity",
    "prescribing",
    "prices",
    "safety",
    "patient_costs",
)

PCT_NAME = "Wyndmoor PCT"  # fictional
MERGER_DATE = "2006-10-01"  # [V] 303 PCTs became 152 on 1 Oct 2006 (SI 2006/2072)
YEARS = ("2004/05", "2005/06", "2006/07")  # activity, prescribing, list sizes, safety
PRICE_YEARS = ("2004/05", "2005/06", "2006/07", "2007/08")
SNAPSHOT_YEAR = "2006/07"  # population and list_size snapshot

# Predecessor PCTs, their localities (the natural PbC clusters) and the share of the merged PCT's
# registered list each holds [U]; each must end up at 90,000-110,000 patients.
PREDECESSORS = {
    "Wyndmoor City PCT": ("City Centre", "City North", "City South"),
    "Eastmarsh PCT": ("Eastmarsh Coast", "Eastmarsh Villages"),
    "Fellside PCT": ("Fellside Town", "Fellside Dales"),
}
PREDECESSOR_SHARE = {"Wyndmoor City PCT": 0.34, "Eastmarsh PCT": 0.32, "Fellside PCT": 0.34}  # [U]

N_PRACTICES = 48  # [U] within the brief's 40-55 practices for a ~300,000 PCT

# List sizes: lognormal, drawn at stratified quantiles (i + 0.5)/n so the sample's P10/P90 do not
# hinge on luck. [D] brief: median ~5,500, sigma ~0.6 gives P10 ~2,550, P90 ~11,870 against the
# BJGP 2011-12 distribution P10 2,392, P90 12,520 [V].
LIST_MEDIAN = 5_500  # [D]
LIST_SIGMA = 0.6  # [D]
LIST_P10_V = 2_392  # [V] BJGP, practice list size distribution 2011-12
LIST_P90_V = 12_520  # [V] same source
LIST_GROWTH_MEAN = 0.007  # [U] mean annual list growth per practice (England 5,753 -> 6,651 per
#                           practice 2001-2011 [V] is ~1.5%/yr, but that includes mergers)
LIST_GROWTH_SD = 0.012  # [U] practice-to-practice spread of annual growth

SEXES = ("F", "M")
# Age profiles (share of list by band). STANDARD gives 65+ = 16.1% [V: 65+ ~16%, 2003-04] and
# 85+ = 2.0% [U]; practices are mixed towards YOUNG (student/city) or OLD (coastal/retired) [U].
AGE_PROFILE_STANDARD = (0.059, 0.130, 0.404, 0.246, 0.083, 0.058, 0.020)  # [U] shape, [V] 65+
AGE_PROFILE_YOUNG = (0.045, 0.070, 0.640, 0.175, 0.040, 0.020, 0.010)  # [U] 65+ = 7%
AGE_PROFILE_OLD = (0.035, 0.090, 0.250, 0.280, 0.160, 0.130, 0.055)  # [U] 65+ = 34.5%
AGE_TILT_RANGE = (-1.0, 0.8)  # [U] -1 = all YOUNG, +1 = all OLD; caps 65+ share near 7%-31%
AGE_TILT_SD = 0.2  # [U] practice spread of the tilt around its locality's mean
LOCALITY_AGE_TILT = {  # [U] city centre young (students), the coast and dales older
    "City Centre": -0.75,
    "City North": -0.10,
    "City South": 0.05,
    "Eastmarsh Coast": 0.55,
    "Eastmarsh Villages": 0.25,
    "Fellside Town": 0.00,
    "Fellside Dales": 0.35,
}
PCT_OLDER_SHARE = 0.16  # [V] 65+ were 16% of the population (Health Cttee HC 1692-i, Q47)
PCT_85_PLUS_SHARE = 0.02  # [U] brief: the 85+ share is ~2%
FEMALE_SHARE = (0.488, 0.487, 0.497, 0.503, 0.522, 0.575, 0.700)  # [U] by age band, ONS-like

# Additional-need index: list-weighted mean 1.0, range ~0.7-1.5 [U], higher in deprived areas.
LOCALITY_NEED = {  # [U] log-scale locality effects
    "City Centre": 0.25,
    "City North": 0.05,
    "City South": -0.10,
    "Eastmarsh Coast": 0.20,
    "Eastmarsh Villages": -0.15,
    "Fellside Town": 0.05,
    "Fellside Dales": -0.20,
}
NEED_SD = 0.10  # [U] practice spread of log need within a locality
NEED_RANGE = (0.70, 1.50)  # [U] brief's suggested range for the index

# --------------------------------------------------------------------------------------------
# Activity (per 1,000 registered patients a year, PCT level)
# --------------------------------------------------------------------------------------------
PODS = (
    "gp_referral",
    "op_first",
    "op_follow_up",
    "elective_inpatient",
    "day_case",
    "non_elective",
    "ae_attendance",
)
PRICED_PODS = PODS[1:]
# GP referrals: HES 7.98m, 8.69m, 8.48m (2004/05-2006/07) [V] over England ~50.1m, 50.4m, 50.8m
# [U populations] = 159, 172, 167 per 1,000 [D]. The brief's national band is 165-195 [D]. The PCT
# is set mid-band and moves in HES's direction by about a third of its swing [U].
REFERRAL_RATE = {"2004/05": 170.0, "2005/06": 178.0, "2006/07": 175.0}  # [U] PCT per 1,000
REFERRAL_PCT_RANGE = (165.0, 195.0)  # [D] brief: national GP referrals per 1,000 a year
REFERRAL_RANGE_V = (24.0, 244.0)  # [V] practice range 2.4%-24.4% a year (O'Sullivan, 202 practices)
# Each year the practices' rates are scaled together so the PCT expects REFERRAL_RATE.
# Practice referral propensity. A gamma (right-skewed) cannot give a mean >= 165, P90/P10 >= 2 and
# every practice <= 244 together (P90 <= 244 forces P10 <= 122, so the mass must pile up near the
# top). So each practice's 2006/07 expected rate sits in [REFERRAL_LATENT_LOW, _HIGH] at a
# Beta(a, b) position, drawn at stratified quantiles [U shape; V range; D reasoning].
REFERRAL_BETA = (1.9, 0.7)  # [U]
REFERRAL_LATENT_LOW = 24.0  # [V] O'Sullivan's lowest practice rate
REFERRAL_LATENT_HIGH = 228.0  # [U] O'Sullivan's highest (244) less headroom for yearly noise
REFERRAL_CASE_MIX_CORR = 0.15  # [D] rank correlation with case mix; R^2 ~ 0.02 (O'Sullivan: 1.3%)
YEAR_WOBBLE_SHAPE = 1000.0  # [U] gamma year-to-year noise on every practice rate (CV ~3%)
# Outpatients. HES Jun 2008-May 2009: 60.5m attendances, ~2.3 follow-ups per first, 8% DNA [V].
# First attendances = 60.5m / 3.3 = 18.3m [D]; booked = 18.3m / 0.92 = 19.9m [D]; per GP referral
# (8.88m, 2007/08 [V]) = 2.24 [D]: firsts from all sources (A&E, consultant-to-consultant...) are
# assumed proportional to GP referrals [U].
FIRST_BOOKINGS_PER_GP_REFERRAL = 2.24  # [D]
DNA_RATE = 0.08  # [V] HES: 8% of outpatient appointments not attended
FOLLOW_UPS_PER_FIRST = 2.3  # [V] HES: ~2.3 follow-ups per first attendance
# Emergency admissions: CHKS 83 -> 94 per 1,000 (2003/04 -> 2005/06) [V]; brief 85-95, rising 3-7% a
# year [V]. The PCT sits a little below the CHKS path so that 2006/07 stays within 85-95 [U].
NON_ELECTIVE_RATE = {"2004/05": 86.3, "2005/06": 90.2, "2006/07": 94.0}  # [D/U]
# Elective general and acute ~110 per 1,000 (2002-03) [D]; +3% a year assumed [U].
ELECTIVE_RATE = {"2004/05": 106.0, "2005/06": 109.0, "2006/07": 112.0}  # [D/U]
DAY_CASE_SHARE = 0.70  # [U] share of elective admissions done as day cases
# A&E attendances: CHKS 260 (2003/04) -> 352 (2005/06) per 1,000 [V]; 2004/05 is the geometric
# mid-point sqrt(260 x 352) = 302.5 [D]; 2006/07 assumed +2% [U].
AE_RATE = {"2004/05": 302.5, "2005/06": 352.0, "2006/07": 359.0}  # [V/D/U]

# Relative rates by age band (16-44 = 1) for each pod, both sexes [U: shaped so the cost gradient
# roughly follows the brief's HCHS relative cost per head, 0-4 1.9 ... 85+ 8.5 [D/U]].
AGE_REL = {
    "gp_referral": (0.7, 0.45, 1.0, 1.3, 1.9, 2.2, 2.0),
    "elective_inpatient": (0.6, 0.35, 1.0, 1.4, 3.6, 4.3, 3.0),
    "day_case": (0.35, 0.3, 1.0, 1.5, 3.4, 3.5, 2.4),
    "non_elective": (5.5, 0.6, 1.0, 1.2, 3.0, 6.8, 13.0),
    "ae_attendance": (1.8, 0.8, 1.0, 0.8, 0.9, 1.4, 2.4),
}
FEMALE_TO_MALE = (0.85, 0.95, 1.35, 1.10, 0.95, 0.95, 0.95)  # [U] rate ratio F:M, all pods
NEED_ELASTICITY = {
    "gp_referral": 0.0,
    "elective_inpatient": 0.3,
    "day_case": 0.3,
    "non_elective": 1.0,
    "ae_attendance": 0.5,
}  # [U] rate ~ need ** elasticity
PRACTICE_EFFECT_SHAPE = {
    "elective": 20.0,
    "non_elective": 40.0,
    "ae_attendance": 12.0,
    "follow_up": 50.0,
}  # [U] gamma shapes (CV = 1/sqrt(shape))
ELECTIVE_REFERRAL_ELASTICITY = 0.5  # [U] electives follow referral propensity ** 0.5
LOCALITY_AE = {
    "City Centre": 1.15,
    "City North": 1.10,
    "City South": 1.10,
    "Eastmarsh Coast": 1.0,
    "Eastmarsh Villages": 0.9,
    "Fellside Town": 1.0,
    "Fellside Dales": 0.8,
}  # [U] nearness to an A&E department

# --------------------------------------------------------------------------------------------
# Prescribing
# --------------------------------------------------------------------------------------------
ITEMS_PER_HEAD_2006 = 14.8  # [V] items per head, England 2006
ITEMS_PER_HEAD_65PLUS_2006 = 40.8  # [V] items per head aged 65+, 2006
NIC_PER_ITEM_2006 = 10.90  # [V] net ingredient cost per item, 2006
ITEMS_PER_HEAD_2010 = 17.8  # [V]
NIC_PER_HEAD_2010 = 169.0  # [V]
# Back-cast: compound growth 2006 -> 2010 applied backwards one year at a time [D]:
# items (17.8 / 14.8) ** (1/4) = 1.0473; NIC per head (169 / (14.8 x 10.90)) ** (1/4) = 1.0117.
ITEMS_GROWTH = (ITEMS_PER_HEAD_2010 / ITEMS_PER_HEAD_2006) ** 0.25  # [D]
NIC_PER_HEAD_GROWTH = (NIC_PER_HEAD_2010 / (ITEMS_PER_HEAD_2006 * NIC_PER_ITEM_2006)) ** 0.25  # [D]
# Items by age band, within <65 and within 65+ (scaled so the PCT gives 14.8 and 40.8) [U shape].
ITEMS_AGE_REL = (5.0, 3.0, 6.5, 15.5, 30.0, 48.0, 58.0)  # [U]
PRESCRIBING_EFFECT_SHAPE = 25.0  # [U] gamma practice effect on items (CV 20%)
PRESCRIBING_NEED_ELASTICITY = 0.5  # [U]
NIC_PER_ITEM_SD = 0.08  # [U] lognormal practice spread of cost per item

# --------------------------------------------------------------------------------------------
# Prices (£ per unit of activity)
# --------------------------------------------------------------------------------------------
PRICE_OP_FIRST_2006 = 200.0  # [U] brief: 2006/07 first outpatient ~£150-£250; mid-point
PRICE_OP_FOLLOW_UP_2006 = 90.0  # [U] brief: follow-up ~£70-£110; mid-point
PRICE_NON_ELECTIVE_2006 = 1_750.0  # [U] brief: ~£1,500-£2,000; mid-point (2016/17 £1,590 [V])
HFMA_2016 = {"day_case": 738.0, "elective_inpatient": 3_684.0, "non_elective": 1_590.0}  # [V]
# Day case and elective are HFMA 2016/17 relativities [V] scaled to the 2006/07 non-elective
# anchor: 1,750 / 1,590 = 1.1006 [D], rounded to whole pounds.
HFMA_SCALE = PRICE_NON_ELECTIVE_2006 / HFMA_2016["non_elective"]  # [D]
PRICE_AE_2006 = 85.0  # illustrative assumption, no source
TARIFF_UPLIFT_2007 = 0.025  # [V] 2007/08 tariff uplift +2.5% (Reckon, on Nicholson's letter)
PRICE_BACKCAST = 0.025  # [U] earlier years assumed 2.5% a year lower than the next

# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------
CONSULTATIONS_PER_PATIENT = {"2004/05": 5.1, "2005/06": 5.2, "2006/07": 5.3}  # [V] 5.3 (2006),
#   5.5 (2008); earlier years back-cast at -0.1 a year [D]
CONSULT_AGE_REL = (1.1, 0.5, 0.8, 1.05, 1.6, 2.1, 2.4)  # [U] 85+ ~13 a year ([V] 13.8 at 85-89)
CONSULT_EFFECT_SHAPE = 50.0  # [U] practice spread (CV 14%)
ERROR_RATE_PER_100K = 16.0  # [V range 5-80, Sandars & Esmail 2003; 16 is the project's figure]
ERROR_RATE_SIGMA = 0.55  # [U] lognormal spread of practices' true error rates
ERROR_RATE_RANGE = (5.0, 80.0)  # [V] Sandars & Esmail 2003
# Reporting completeness: 5,706 NRLS reports from general practice a year [V] against 300m x
# 16 / 100,000 = 48,000 errors [D] gives 5,706 / 48,000 = 11.9% [D]; its spread is assumed [U].
REPORTING_COMPLETENESS_MEAN = 5_706 / 48_000  # [D]
REPORTING_COMPLETENESS_CONCENTRATION = 12.0  # [U] Beta(a, b) with a + b = 12
ITEMS_CHECKED_BASE = 400  # [D] PRACtICe: 6,048 items over 15 practices = 403 per practice
ITEMS_CHECKED_RANGE = (150, 800)  # [U]
PRESCRIBING_ERROR_RATE = 0.049  # [V] PRACtICe: 4.9% of items (95% CI 4.4-5.5)
PRESCRIBING_ERROR_CONCENTRATION = 80.0  # [U] Beta(a, b), a + b = 80: practice SD ~2.4 points
SEVERE_SHARE = 0.04  # [V] PRACtICe: 4% of errors severe

# --------------------------------------------------------------------------------------------
# Person-level annual hospital costs
# --------------------------------------------------------------------------------------------
PATIENT_SAMPLE_SIZE = 20_000
# Person frailty (mean 1, shared by all pods) = B x G / USER_SHARE: B ~ Bernoulli(USER_SHARE) says
# whether a person is at any risk of hospital use this year, G ~ Gamma(FRAILTY_SHAPE) how much [U].
USER_SHARE = 0.23  # [U] tuned so ~60-70% have no hospital cost in the year (brief [U])
FRAILTY_SHAPE = 6.0  # [U] tuned to the top 1% / top 5% concentration targets
# Admissions (elective, day case, emergency) are less concentrated than outpatient and A&E use:
# their frailty is ADMISSION_BASELINE + (1 - ADMISSION_BASELINE) x the shared frailty [U]. Tuned
# to 1.0 (admissions independent of the frailty): any dependence pushed the top 5% above 55%.
ADMISSION_BASELINE = 1.0  # [U]
ADMISSION_PODS = ("elective_inpatient", "day_case", "non_elective")
EVENT_COST_SIGMA = {"elective_inpatient": 0.8, "day_case": 0.3, "non_elective": 0.5}  # [U]
# Long emergency stays: a share of admissions costs LONG_STAY_RATIO times a short one [U], keeping
# the mean cost per admission at the tariff price x the age multiplier.
LONG_STAY_SHARE = 0.03  # [U]
LONG_STAY_RATIO = 30.0  # [U]
NON_ELECTIVE_AGE_COST = (0.8, 0.6, 0.8, 1.0, 1.2, 1.6, 2.2)  # [U] longer stays with age
TOP_1_SHARE_V = 0.32  # [V] IFS 2016: 1% of population, 32% of hospital spend
TOP_5_SHARE_V = 0.50  # [V] Health Foundation 2019: top 5% ~50% of spend
HCHS_RELATIVE_COST = (1.9, 0.5, 1.0, 1.3, 3.2, 5.2, 8.5)  # [D/U] brief, 16-44 = 1


def _stats():
    """scipy.stats, imported only when the data are drawn (the apps import this module's
    constants, and scipy.stats costs a kernel ~60 MiB)."""
    from scipy import stats

    return stats


def make_rngs(seed: int = MASTER_SEED) -> dict[str, np.random.Generator]:
    """One independent generator per table, spawned from a single master seed.

    Parameters
    ----------
    seed : int
        The master seed.

    Returns
    -------
    dict
        Table name -> ``numpy.random.Generator``.
    """
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def stratified(
    rng: np.random.Generator, ppf: Callable[[np.ndarray], np.ndarray], n: int
) -> np.ndarray:
    """Draw ``n`` values at the quantiles (i + 0.5)/n of a distribution, in random order.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random order.
    ppf : callable
        The distribution's quantile function.
    n : int
        How many values.

    Returns
    -------
    numpy.ndarray
        The values, shuffled.
    """
    return rng.permutation(ppf((np.arange(n) + 0.5) / n))


# --------------------------------------------------------------------------------------------
# Practices and population
# --------------------------------------------------------------------------------------------
PRACTICE_NAMES = {  # fictional; drawn without replacement within each predecessor
    "Wyndmoor City PCT": (
        "Market Street Surgery",
        "Cathedral Close Practice",
        "Westgate Health Centre",
        "Northgate Medical Practice",
        "Canal Side Surgery",
        "Foundry Lane Medical Centre",
        "Victoria Road Surgery",
        "Kings Park Practice",
        "Queens Walk Surgery",
        "Corn Exchange Surgery",
        "Station Road Practice",
        "Tannery Yard Surgery",
        "University Health Centre",
        "Parkside Family Practice",
        "Chapel Street Surgery",
        "Town Hall Surgery",
        "Priory Medical Centre",
        "Southfield Surgery",
        "Elm Tree Surgery",
        "Cross Keys Surgery",
        "Long Row Medical Practice",
        "Abbey Fields Surgery",
        "Bridge End Surgery",
        "Oakwood Medical Centre",
        "Riverside Medical Practice",
        "Highfield Health Centre",
    ),
    "Eastmarsh PCT": (
        "Harbour View Medical Centre",
        "The Quay Surgery",
        "Saltmarsh Medical Centre",
        "Cliff Top Surgery",
        "Lighthouse Surgery",
        "Sandpiper Medical Practice",
        "Ferry Lane Practice",
        "Marshfield Surgery",
        "Shoreline Practice",
        "Fenside Surgery",
        "Windmill Medical Centre",
        "Orchard House Surgery",
        "Church Lane Surgery",
        "The Green Surgery",
        "Millbrook Medical Centre",
        "Willow Bank Surgery",
        "Esplanade Surgery",
        "Dunes Medical Centre",
        "Seawall Surgery",
        "Reedbed Practice",
        "Old Vicarage Surgery",
        "Pier Road Surgery",
        "Eastwood Family Practice",
        "Brookside Health Centre",
        "Parsonage Surgery",
        "Gable End Surgery",
    ),
    "Fellside PCT": (
        "The Dales Health Centre",
        "Fellgate Surgery",
        "Low Moor Practice",
        "Ridgeway Surgery",
        "Moorside Medical Practice",
        "Stonebridge Surgery",
        "Valley View Health Centre",
        "Greystones Surgery",
        "Beck Side Surgery",
        "High Street Medical Centre",
        "Hill Top Surgery",
        "Heather View Surgery",
        "The Old Forge Surgery",
        "Castle Hill Surgery",
        "Beacon Medical Group",
        "Meadowside Surgery",
        "Packhorse Bridge Surgery",
        "Wool Market Surgery",
        "Tarn Lane Practice",
        "Scar Top Surgery",
        "Mill Race Medical Centre",
        "Ghyll Head Surgery",
        "Drovers Way Practice",
        "Limestone Health Centre",
        "Kirkgate Surgery",
        "Bridge Street Surgery",
    ),
}


def draw_list_sizes(rng: np.random.Generator, n: int = N_PRACTICES) -> np.ndarray:
    """Practice list sizes at stratified quantiles of a lognormal (median 5,500, sigma 0.6).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random order.
    n : int
        Number of practices.

    Returns
    -------
    numpy.ndarray
        Integer list sizes, in random order.
    """

    def ppf(q: np.ndarray) -> np.ndarray:
        return LIST_MEDIAN * np.exp(LIST_SIGMA * _stats().norm.ppf(q))

    return np.round(stratified(rng, ppf, n)).astype(np.int64)


def assign_predecessors(rng: np.random.Generator, sizes: np.ndarray) -> np.ndarray:
    """Give each practice a predecessor PCT so each holds about its share of the total list.

    Practices are taken in random order; each goes to the predecessor furthest below its target.
    """
    names = list(PREDECESSORS)
    target = np.array([PREDECESSOR_SHARE[p] for p in names]) * sizes.sum()
    held = np.zeros(len(names))
    out = np.empty(len(sizes), dtype=object)
    for i in rng.permutation(len(sizes)):
        j = int(np.argmax(target - held))
        out[i] = names[j]
        held[j] += sizes[i]
    return out


def assign_localities(rng: np.random.Generator, predecessor: np.ndarray) -> np.ndarray:
    """Deal each predecessor's practices round-robin, in random order, into its localities."""
    out = np.empty(len(predecessor), dtype=object)
    for pct, localities in PREDECESSORS.items():
        members = rng.permutation(np.flatnonzero(predecessor == pct))
        for k, i in enumerate(members):
            out[i] = localities[k % len(localities)]
    return out


def draw_need(rng: np.random.Generator, locality: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Additional-need index: locality effect plus practice noise, list-weighted mean 1.

    Returns values rounded to 3 decimals within ``NEED_RANGE``.
    """
    log_need = np.array([LOCALITY_NEED[loc] for loc in locality])
    need = np.exp(log_need + rng.normal(0.0, NEED_SD, len(locality)))
    for _ in range(5):  # rescale and clip until both hold
        need = np.clip(need / np.average(need, weights=sizes), *NEED_RANGE)
    return np.round(need, 3)


def build_practices(rng: np.random.Generator) -> pd.DataFrame:
    """The practices table: id, name, locality, predecessor PCT, list size and need index."""
    sizes = draw_list_sizes(rng)
    predecessor = assign_predecessors(rng, sizes)
    locality = assign_localities(rng, predecessor)
    names = np.empty(len(sizes), dtype=object)
    for pct, pool in PRACTICE_NAMES.items():
        members = np.flatnonzero(predecessor == pct)
        names[members] = rng.choice(np.array(pool, dtype=object), len(members), replace=False)
    need = draw_need(rng, locality, sizes)
    df = pd.DataFrame(
        {
            "practice_name": names,
            "locality": locality,
            "predecessor_pct": predecessor,
            "list_size": sizes,
            "need_index": need,
        }
    )
    order = {loc: k for k, loc in enumerate(LOCALITY_AGE_TILT)}
    df = df.assign(_o=df["locality"].map(order)).sort_values(["_o", "practice_name"])
    df.insert(0, "practice_id", [f"WM{k:03d}" for k in range(1, len(df) + 1)])
    return df.drop(columns="_o").reset_index(drop=True)


def age_shares(tilt: np.ndarray) -> np.ndarray:
    """Share of the list in each age band for each practice's age tilt (rows sum to 1)."""
    std, young, old = (
        np.array(p) for p in (AGE_PROFILE_STANDARD, AGE_PROFILE_YOUNG, AGE_PROFILE_OLD)
    )
    t = np.clip(tilt, *AGE_TILT_RANGE)[:, None]
    return std + np.where(t > 0, t * (old - std), -t * (young - std))


def calibrated_tilts(rng: np.random.Generator, practices: pd.DataFrame) -> np.ndarray:
    """Practice age tilts, shifted by one constant so the PCT's 65+ share is ``PCT_OLDER_SHARE``."""
    base = practices["locality"].map(LOCALITY_AGE_TILT).to_numpy(float)
    tilt = base + rng.normal(0.0, AGE_TILT_SD, len(base))
    sizes = practices["list_size"].to_numpy(float)
    lo, hi = -1.0, 1.0
    for _ in range(60):  # bisection: the 65+ share rises with the shift
        mid = (lo + hi) / 2
        older = age_shares(tilt + mid)[:, 4:].sum(axis=1)
        lo, hi = (mid, hi) if np.average(older, weights=sizes) < PCT_OLDER_SHARE else (lo, mid)
    return tilt + (lo + hi) / 2


def build_population(rng: np.random.Generator, practices: pd.DataFrame) -> pd.DataFrame:
    """Registered patients by practice, sex and age band (2006/07), summing to each list size."""
    shares = age_shares(calibrated_tilts(rng, practices))
    female = np.array(FEMALE_SHARE)
    probs = np.concatenate([shares * female, shares * (1 - female)], axis=1)
    probs = probs / probs.sum(axis=1, keepdims=True)
    counts = rng.multinomial(practices["list_size"].to_numpy(), probs)
    n_bands = len(AGE_BANDS)
    return pd.DataFrame(
        {
            "practice_id": np.repeat(practices["practice_id"].to_numpy(), 2 * n_bands),
            "sex": np.tile(np.repeat(SEXES, n_bands), len(practices)),
            "age_band": np.tile(AGE_BANDS * 2, len(practices)),
            "persons": counts.ravel().astype(np.int64),
        }
    )


def build_list_sizes(rng: np.random.Generator, practices: pd.DataFrame) -> pd.DataFrame:
    """Registered patients per practice and year, back-cast from 2006/07 by small drifts."""
    current = practices["list_size"].to_numpy(float)
    lists = {SNAPSHOT_YEAR: practices["list_size"].to_numpy()}
    for year in reversed(YEARS[:-1]):
        growth = rng.normal(LIST_GROWTH_MEAN, LIST_GROWTH_SD, len(current))
        current = current / (1 + growth)
        lists[year] = np.round(current).astype(np.int64)
    rows = [
        pd.DataFrame(
            {
                "practice_id": practices["practice_id"],
                "financial_year": year,
                "registered_patients": lists[year],
            }
        )
        for year in YEARS
    ]
    return sort_rows(pd.concat(rows), ["practice_id", "financial_year"])


def sort_rows(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sort by ``keys`` (pods and age bands in their natural order) and renumber the index."""
    order = {"pod": PODS, "age_band": AGE_BANDS}
    df = df.copy()
    for key in keys:
        if key in order:
            df[key] = pd.Categorical(df[key], categories=order[key], ordered=True)
    df = df.sort_values(keys, kind="mergesort").reset_index(drop=True)
    for key in keys:
        if key in order:
            df[key] = df[key].astype(str)
    return df


# --------------------------------------------------------------------------------------------
# Activity
# --------------------------------------------------------------------------------------------
def sex_weights(age_rel: tuple[float, ...]) -> np.ndarray:
    """Relative rates as a (2, 7) array, rows F and M, from age rates and the F:M ratio.

    Within each band the female and male rates average to the age rate.
    """
    ratio = np.array(FEMALE_TO_MALE)
    age = np.array(age_rel, dtype=float)
    return np.vstack([age * 2 * ratio / (1 + ratio), age * 2 / (1 + ratio)])


def population_matrix(population: pd.DataFrame, practice_ids: pd.Series) -> np.ndarray:
    """Persons as an array (practice, sex, age band) in the order of ``practice_ids``."""
    pivot = population.pivot_table(
        index="practice_id", columns=["sex", "age_band"], values="persons", aggfunc="sum"
    )
    cols = pd.MultiIndex.from_product([SEXES, AGE_BANDS])
    arr = pivot.reindex(index=practice_ids, columns=cols).to_numpy(float)
    return arr.reshape(len(practice_ids), len(SEXES), len(AGE_BANDS))


def case_mix(pop: np.ndarray, age_rel: tuple[float, ...]) -> np.ndarray:
    """Expected events per head relative to the PCT (list-weighted mean 1) from age and sex."""
    per_practice = (pop * sex_weights(age_rel)).sum(axis=(1, 2))
    return per_practice / pop.sum(axis=(1, 2)) / (per_practice.sum() / pop.sum())


def allocate(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Split a PCT total between practices in proportion to their expected counts.

    Multinomial: the Poisson distribution conditioned on the PCT total, so the PCT-wide rate is
    pinned to its target while practices vary at random around their expectation.
    """
    return rng.multinomial(int(total), weights / weights.sum()).astype(np.int64)


def referral_rates(rng: np.random.Generator, cm: np.ndarray) -> np.ndarray:
    """Each practice's expected 2006/07 GP referral rate per 1,000 (persistent across years).

    Stratified Beta quantiles on [LOW, HIGH], assigned in an order weakly correlated with case
    mix (correlation ``REFERRAL_CASE_MIX_CORR``), so case mix explains little of the variation.
    """
    n = len(cm)
    positions = np.sort(_stats().beta(*REFERRAL_BETA).ppf((np.arange(n) + 0.5) / n))
    z = (np.log(cm) - np.log(cm).mean()) / np.log(cm).std()
    rho = REFERRAL_CASE_MIX_CORR
    key = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    rates = np.empty(n)
    rates[np.argsort(key)] = positions
    return REFERRAL_LATENT_LOW + (REFERRAL_LATENT_HIGH - REFERRAL_LATENT_LOW) * rates


def draw_referrals(rng: np.random.Generator, expected: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """Poisson referral counts, redrawn where a practice's rate falls outside O'Sullivan's range."""
    lo, hi = REFERRAL_RANGE_V
    low, high = lo * lists / 1000, hi * lists / 1000
    # An expectation outside the range (a high latent rate times a high year's wobble) would make
    # the redraws below fail most of the time: hold it inside the range first.
    expected = np.clip(expected, low, high)
    counts = rng.poisson(expected)
    for _ in range(200):
        bad = (counts < low) | (counts > high)
        if not bad.any():
            break
        counts[bad] = rng.poisson(expected[bad])
    # Still outside after 200 redraws (vanishingly rare): the nearest count inside the range.
    return np.clip(counts, np.ceil(low), np.floor(high)).astype(np.int64)


def gamma_effect(rng: np.random.Generator, shape: float, n: int) -> np.ndarray:
    """Persistent practice effects: gamma with mean 1 and coefficient of variation 1/sqrt(shape)."""
    return rng.gamma(shape, 1.0 / shape, n)


def wobble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Small year-to-year gamma noise on a practice's rate (mean 1)."""
    return gamma_effect(rng, YEAR_WOBBLE_SHAPE, n)


def year_lists(list_sizes: pd.DataFrame, practice_ids: pd.Series) -> dict[str, np.ndarray]:
    """Registered patients per practice for each year, aligned with ``practice_ids``."""
    wide = list_sizes.pivot(
        index="practice_id", columns="financial_year", values="registered_patients"
    ).reindex(practice_ids)
    return {year: wide[year].to_numpy(float) for year in YEARS}


def activity_effects(
    rng: np.random.Generator, practices: pd.DataFrame, pop: np.ndarray
) -> dict[str, np.ndarray]:
    """Persistent practice multipliers (case mix x need x practice effect) for each pod."""
    n = len(practices)
    need = practices["need_index"].to_numpy(float)
    referral = referral_rates(rng, case_mix(pop, AGE_REL["gp_referral"]))
    elective = (referral / referral.mean()) ** ELECTIVE_REFERRAL_ELASTICITY * gamma_effect(
        rng, PRACTICE_EFFECT_SHAPE["elective"], n
    )
    ae_place = practices["locality"].map(LOCALITY_AE).to_numpy(float)
    effects = {
        "gp_referral": referral,
        "elective_inpatient": elective,
        "day_case": elective,
        "non_elective": gamma_effect(rng, PRACTICE_EFFECT_SHAPE["non_elective"], n),
        "ae_attendance": ae_place * gamma_effect(rng, PRACTICE_EFFECT_SHAPE["ae_attendance"], n),
        "op_follow_up": gamma_effect(rng, PRACTICE_EFFECT_SHAPE["follow_up"], n),
    }
    for pod in ("elective_inpatient", "day_case", "non_elective", "ae_attendance"):
        effects[pod] = effects[pod] * case_mix(pop, AGE_REL[pod]) * need ** NEED_ELASTICITY[pod]
    return effects


def pod_totals(year: str, total_list: float) -> dict[str, int]:
    """PCT totals for the pods whose PCT rate is pinned to a target."""
    elective = ELECTIVE_RATE[year] * total_list / 1000
    return {
        "elective_inpatient": round(elective * (1 - DAY_CASE_SHARE)),
        "day_case": round(elective * DAY_CASE_SHARE),
        "non_elective": round(NON_ELECTIVE_RATE[year] * total_list / 1000),
        "ae_attendance": round(AE_RATE[year] * total_list / 1000),
    }


def activity_year(
    rng: np.random.Generator, effects: dict[str, np.ndarray], lists: np.ndarray, year: str
) -> dict[str, np.ndarray]:
    """All seven pods' counts per practice for one year."""
    n = len(lists)
    latent = effects["gp_referral"]  # practice shape; scaled so the PCT expects its target rate
    scale = REFERRAL_RATE[year] / np.average(latent, weights=lists)
    expected = latent * scale * wobble(rng, n) * lists / 1000
    out = {"gp_referral": draw_referrals(rng, expected, lists)}
    booked = np.round(out["gp_referral"] * FIRST_BOOKINGS_PER_GP_REFERRAL).astype(np.int64)
    out["op_first"] = rng.binomial(booked, 1 - DNA_RATE).astype(np.int64)
    follow = round(FOLLOW_UPS_PER_FIRST * out["op_first"].sum())
    out["op_follow_up"] = allocate(rng, follow, out["op_first"] * effects["op_follow_up"])
    for pod, total in pod_totals(year, lists.sum()).items():
        out[pod] = allocate(rng, total, effects[pod] * wobble(rng, n) * lists)
    return out


def build_activity(
    rng: np.random.Generator,
    practices: pd.DataFrame,
    population: pd.DataFrame,
    list_sizes: pd.DataFrame,
) -> pd.DataFrame:
    """Hospital activity by practice, year and point of delivery (long format)."""
    ids = practices["practice_id"]
    effects = activity_effects(rng, practices, population_matrix(population, ids))
    lists = year_lists(list_sizes, ids)
    frames = []
    for year in YEARS:
        counts = activity_year(rng, effects, lists[year], year)
        for pod in PODS:
            frames.append(
                pd.DataFrame(
                    {
                        "practice_id": ids,
                        "financial_year": year,
                        "pod": pod,
                        "activity": counts[pod],
                    }
                )
            )
    return sort_rows(pd.concat(frames), ["practice_id", "financial_year", "pod"])


# --------------------------------------------------------------------------------------------
# Prescribing
# --------------------------------------------------------------------------------------------
def prescribing_targets(year: str) -> tuple[float, float]:
    """PCT items per head and net ingredient cost (£) per head for ``year``.

    2006/07 uses the 2006 figures [V]; earlier years divide by the 2006->2010 annual growth [D].
    """
    back = YEARS.index(SNAPSHOT_YEAR) - YEARS.index(year)
    items = ITEMS_PER_HEAD_2006 / ITEMS_GROWTH**back
    nic = ITEMS_PER_HEAD_2006 * NIC_PER_ITEM_2006 / NIC_PER_HEAD_GROWTH**back
    return items, nic


def items_age_weights(pop: np.ndarray) -> np.ndarray:
    """Items per head by age band, scaled so the PCT gives 14.8 overall and 40.8 aged 65+."""
    rel = np.array(ITEMS_AGE_REL, dtype=float)
    persons = pop.sum(axis=(0, 1))
    older = np.arange(len(AGE_BANDS)) >= 4
    s_old = ITEMS_PER_HEAD_65PLUS_2006 * persons[older].sum() / (persons[older] * rel[older]).sum()
    young_items = (
        ITEMS_PER_HEAD_2006 * persons.sum() - ITEMS_PER_HEAD_65PLUS_2006 * persons[older].sum()
    )
    s_young = young_items / (persons[~older] * rel[~older]).sum()
    return rel * np.where(older, s_old, s_young)


def build_prescribing(
    rng: np.random.Generator,
    practices: pd.DataFrame,
    population: pd.DataFrame,
    list_sizes: pd.DataFrame,
) -> pd.DataFrame:
    """Prescription items and net ingredient cost by practice and year."""
    ids = practices["practice_id"]
    pop = population_matrix(population, ids)
    per_head = (pop.sum(axis=1) * items_age_weights(pop)).sum(axis=1) / pop.sum(axis=(1, 2))
    need = practices["need_index"].to_numpy(float) ** PRESCRIBING_NEED_ELASTICITY
    effect = per_head * need * gamma_effect(rng, PRESCRIBING_EFFECT_SHAPE, len(ids))
    cost_per_item = np.exp(rng.normal(-(NIC_PER_ITEM_SD**2) / 2, NIC_PER_ITEM_SD, len(ids)))
    lists = year_lists(list_sizes, ids)
    frames = []
    for year in YEARS:
        items_head, nic_head = prescribing_targets(year)
        total = lists[year].sum()
        items = allocate(
            rng, round(items_head * total), effect * wobble(rng, len(ids)) * lists[year]
        )
        spend = items * cost_per_item
        nic = np.round(spend / spend.sum() * nic_head * total, 2)
        frames.append(
            pd.DataFrame(
                {
                    "practice_id": ids,
                    "financial_year": year,
                    "items": items,
                    "net_ingredient_cost_gbp": nic,
                }
            )
        )
    return sort_rows(pd.concat(frames), ["practice_id", "financial_year"])


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------
PRICE_BASIS_2006 = {
    "op_first": "assumption [U]: 2006/07 first outpatient ~£150-£250 (brief); mid-point",
    "op_follow_up": "assumption [U]: 2006/07 follow-up ~£70-£110 (brief); mid-point",
    "elective_inpatient": "[D/U]: HFMA 2016/17 elective £3,684 [V, scale] x 1,750/1,590",
    "day_case": "[D/U]: HFMA 2016/17 day case £738 [V, scale] x 1,750/1,590",
    "non_elective": "assumption [U]: ~£1,500-£2,000 (brief); mid-point; 2016/17 £1,590 [V]",
    "ae_attendance": "illustrative assumption, no source",
}


def prices_2006() -> dict[str, float]:
    """2006/07 unit prices (£, whole pounds) for the six priced points of delivery."""
    return {
        "op_first": PRICE_OP_FIRST_2006,
        "op_follow_up": PRICE_OP_FOLLOW_UP_2006,
        "elective_inpatient": float(round(HFMA_2016["elective_inpatient"] * HFMA_SCALE)),
        "day_case": float(round(HFMA_2016["day_case"] * HFMA_SCALE)),
        "non_elective": PRICE_NON_ELECTIVE_2006,
        "ae_attendance": PRICE_AE_2006,
    }


def build_prices(rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Unit prices by year: 2006/07 anchors, 2007/08 +2.5% [V], earlier years back-cast [U].

    ``rng`` is unused (prices are not random); it is accepted so every builder looks alike.
    """
    base = prices_2006()
    rows = []
    for year in PRICE_YEARS:
        steps = PRICE_YEARS.index(year) - PRICE_YEARS.index(SNAPSHOT_YEAR)
        for pod in PRICED_PODS:
            if steps > 0:
                price = base[pod] * (1 + TARIFF_UPLIFT_2007) ** steps
                basis = "2006/07 x 1.025: +2.5% tariff uplift [V] (Reckon)"
            elif steps < 0:
                price = base[pod] / (1 + PRICE_BACKCAST) ** -steps
                basis = f"assumption [U]: 2006/07 less 2.5% a year ({-steps} yr)"
            else:
                price, basis = base[pod], PRICE_BASIS_2006[pod]
            rows.append(
                {
                    "financial_year": year,
                    "pod": pod,
                    "unit_price_gbp": round(price, 2),
                    "basis": basis,
                }
            )
    return sort_rows(pd.DataFrame(rows), ["financial_year", "pod"])


# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------
def safety_practice_rates(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Persistent practice rates: true error rate, reporting completeness, error rate."""
    sigma = ERROR_RATE_SIGMA
    mu = np.log(ERROR_RATE_PER_100K) - sigma**2 / 2
    true_rate = np.clip(
        stratified(rng, lambda q: np.exp(mu + sigma * _stats().norm.ppf(q)), n), *ERROR_RATE_RANGE
    )
    c = REPORTING_COMPLETENESS_CONCENTRATION
    m = REPORTING_COMPLETENESS_MEAN
    completeness = stratified(rng, _stats().beta(m * c, (1 - m) * c).ppf, n)
    c = PRESCRIBING_ERROR_CONCENTRATION
    p = PRESCRIBING_ERROR_RATE
    error_rate = stratified(rng, _stats().beta(p * c, (1 - p) * c).ppf, n)
    return {"true_rate": true_rate, "completeness": completeness, "error_rate": error_rate}


def items_checked(rng: np.random.Generator, lists: np.ndarray) -> np.ndarray:
    """Audit sample sizes: ~400 items, more for larger lists, rounded to tens."""
    raw = ITEMS_CHECKED_BASE * np.sqrt(lists / LIST_MEDIAN) * np.exp(rng.normal(0, 0.1, len(lists)))
    return (np.round(np.clip(raw, *ITEMS_CHECKED_RANGE) / 10) * 10).astype(np.int64)


def build_safety(
    rng: np.random.Generator,
    practices: pd.DataFrame,
    population: pd.DataFrame,
    list_sizes: pd.DataFrame,
) -> pd.DataFrame:
    """Consultations, reported incidents and a prescribing audit by practice and year."""
    ids = practices["practice_id"]
    n = len(ids)
    effect = case_mix(population_matrix(population, ids), CONSULT_AGE_REL) * gamma_effect(
        rng, CONSULT_EFFECT_SHAPE, n
    )
    rates = safety_practice_rates(rng, n)
    lists = year_lists(list_sizes, ids)
    frames = []
    for year in YEARS:
        total = round(CONSULTATIONS_PER_PATIENT[year] * lists[year].sum())
        consultations = allocate(rng, total, effect * wobble(rng, n) * lists[year])
        expected = consultations * rates["true_rate"] / 1e5 * rates["completeness"]
        checked = items_checked(rng, lists[year])
        errors = rng.binomial(checked, rates["error_rate"]).astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "practice_id": ids,
                    "financial_year": year,
                    "consultations": consultations,
                    "incidents_reported": rng.poisson(expected).astype(np.int64),
                    "items_checked": checked,
                    "prescribing_errors": errors,
                    "severe_errors": rng.binomial(errors, SEVERE_SHARE).astype(np.int64),
                }
            )
        )
    return sort_rows(pd.concat(frames), ["practice_id", "financial_year"])


# --------------------------------------------------------------------------------------------
# Person-level annual hospital costs
# --------------------------------------------------------------------------------------------
COST_PODS = {  # output column -> pods it adds up
    "elective_inpatient_gbp": ("elective_inpatient",),
    "day_case_gbp": ("day_case",),
    "outpatient_gbp": ("op_first", "op_follow_up"),
    "non_elective_gbp": ("non_elective",),
    "ae_gbp": ("ae_attendance",),
}
AGE_REL_FOR_POD = {"op_first": "gp_referral", "op_follow_up": "gp_referral"}


def pct_persons(population: pd.DataFrame) -> np.ndarray:
    """PCT persons as a (sex, age band) array."""
    pivot = population.pivot_table(index="sex", columns="age_band", values="persons", aggfunc="sum")
    return pivot.reindex(index=list(SEXES), columns=list(AGE_BANDS)).to_numpy(float)


def sample_strata(persons: np.ndarray, size: int) -> np.ndarray:
    """Counts per (sex, age band) for a sample of ``size`` in the PCT's exact mix.

    Largest-remainder rounding of ``size`` x shares, so the sample mix does not hinge on luck.
    """
    quota = persons / persons.sum() * size
    counts = np.floor(quota).astype(np.int64)
    short = size - counts.sum()
    order = np.argsort(-(quota - counts).ravel(), kind="stable")[:short]
    counts.ravel()[order] += 1
    return counts


def person_event_rates(
    activity: pd.DataFrame, list_sizes: pd.DataFrame, persons: np.ndarray
) -> dict[str, np.ndarray]:
    """Events per head by (sex, age band), 2006/07, averaging to the activity PCT rates."""
    year = activity["financial_year"] == SNAPSHOT_YEAR
    total_list = list_sizes.loc[
        list_sizes["financial_year"] == SNAPSHOT_YEAR, "registered_patients"
    ].sum()
    counts = activity.loc[year].groupby("pod")["activity"].sum()
    rates = {}
    for pod in PRICED_PODS:
        w = sex_weights(AGE_REL[AGE_REL_FOR_POD.get(pod, pod)])
        rates[pod] = counts[pod] / total_list * w * persons.sum() / (persons * w).sum()
    return rates


def event_costs(
    rng: np.random.Generator,
    events: np.ndarray,
    mean_cost: np.ndarray,
    sigma: float,
    long_share: float = 0.0,
    long_ratio: float = 1.0,
) -> np.ndarray:
    """Each person's total cost of ``events`` events with the given mean cost each.

    Each event costs a lognormal amount (spread ``sigma``); a share ``long_share`` of events
    (long stays) cost ``long_ratio`` times as much, with the overall mean kept at ``mean_cost``.
    """
    who = np.repeat(np.arange(len(events)), events)
    long = rng.random(len(who)) < long_share
    scale = np.where(long, long_ratio, 1.0) / (1 - long_share + long_share * long_ratio)
    draws = np.exp(rng.normal(-(sigma**2) / 2, sigma, len(who))) * mean_cost[who] * scale
    return np.bincount(who, weights=draws, minlength=len(events))


def ne_cost_multiplier(rates: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Non-elective cost multiplier by age band, normalised to mean 1 over the PCT's admissions."""
    mult = np.array(NON_ELECTIVE_AGE_COST)
    admissions = rates * persons
    return mult / ((admissions * mult).sum() / admissions.sum())


def simulate_costs(
    rng: np.random.Generator,
    sex: np.ndarray,
    age: np.ndarray,
    rates: dict[str, np.ndarray],
    price: dict[str, float],
    ne_mult: np.ndarray,
) -> dict[str, np.ndarray]:
    """Annual cost (£) per person and pod: gamma frailty x age-sex rates, Poisson events."""
    at_risk = rng.random(len(sex)) < USER_SHARE
    frailty = at_risk * rng.gamma(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE, len(sex)) / USER_SHARE
    cost = {}
    for pod in PRICED_PODS:
        risk = frailty
        if pod in ADMISSION_PODS:
            risk = ADMISSION_BASELINE + (1 - ADMISSION_BASELINE) * frailty
        events = rng.poisson(rates[pod][sex, age] * risk)
        unit = np.full(len(sex), price[pod]) * (ne_mult[age] if pod == "non_elective" else 1.0)
        if pod == "non_elective":
            cost[pod] = event_costs(
                rng, events, unit, EVENT_COST_SIGMA[pod], LONG_STAY_SHARE, LONG_STAY_RATIO
            )
        elif pod in EVENT_COST_SIGMA:
            cost[pod] = event_costs(rng, events, unit, EVENT_COST_SIGMA[pod])
        else:
            cost[pod] = events * unit
    return cost


def build_patient_costs(
    rng: np.random.Generator,
    population: pd.DataFrame,
    activity: pd.DataFrame,
    list_sizes: pd.DataFrame,
    prices: pd.DataFrame,
) -> pd.DataFrame:
    """A sample of 20,000 people with one year's (2006/07) hospital costs by pod."""
    persons = pct_persons(population)
    counts = sample_strata(persons, PATIENT_SAMPLE_SIZE)
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    cells = rng.permutation(cells)
    sex, age = np.divmod(cells, len(AGE_BANDS))
    rates = person_event_rates(activity, list_sizes, persons)
    year_prices = prices.loc[prices["financial_year"] == SNAPSHOT_YEAR]
    price = dict(zip(year_prices["pod"], year_prices["unit_price_gbp"].astype(float), strict=True))
    ne_mult = ne_cost_multiplier(rates["non_elective"], persons)
    cost = simulate_costs(rng, sex, age, rates, price, ne_mult)
    df = pd.DataFrame(
        {
            "person_id": [f"P{k:05d}" for k in range(1, len(cells) + 1)],
            "age_band": np.array(AGE_BANDS)[age],
            "sex": np.array(SEXES)[sex],
        }
    )
    pence = {
        col: sum(np.round(cost[p] * 100).astype(np.int64) for p in pods)
        for col, pods in COST_PODS.items()
    }
    for col, value in pence.items():
        df[col] = value / 100
    df["total_gbp"] = sum(pence.values()) / 100
    return df


# --------------------------------------------------------------------------------------------
# Achieved values (computed on the generated tables, written into the sidecars)
# --------------------------------------------------------------------------------------------


def pct_rate(activity: pd.DataFrame, list_sizes: pd.DataFrame, pod: str, year: str) -> float:
    """PCT activity per 1,000 registered patients for one pod and year."""
    count = activity.loc[
        (activity["pod"] == pod) & (activity["financial_year"] == year), "activity"
    ].sum()
    patients = list_sizes.loc[list_sizes["financial_year"] == year, "registered_patients"].sum()
    return float(count / patients * 1000)


def practice_rates(
    activity: pd.DataFrame, list_sizes: pd.DataFrame, pod: str, year: str | None = None
) -> pd.DataFrame:
    """Per-practice rates per 1,000 (columns practice_id, financial_year, rate)."""
    rows = activity.loc[activity["pod"] == pod].merge(
        list_sizes, on=["practice_id", "financial_year"]
    )
    if year is not None:
        rows = rows.loc[rows["financial_year"] == year]
    rows = rows.assign(rate=rows["activity"] / rows["registered_patients"] * 1000)
    return rows[["practice_id", "financial_year", "rate"]].reset_index(drop=True)


def older_shares(population: pd.DataFrame) -> pd.Series:
    """Share of each practice's list aged 65+."""
    older = population.loc[population["age_band"].isin(OLDER_BANDS)]
    return (
        older.groupby("practice_id")["persons"].sum()
        / population.groupby("practice_id")["persons"].sum()
    )


def referral_r_squared(
    practices: pd.DataFrame,
    population: pd.DataFrame,
    activity: pd.DataFrame,
    list_sizes: pd.DataFrame,
) -> float:
    """R^2 of log 2006/07 referral rate on log age-sex expected rate and log need (OLS)."""
    ids = practices["practice_id"]
    cm = case_mix(population_matrix(population, ids), AGE_REL["gp_referral"])
    rates = practice_rates(activity, list_sizes, "gp_referral", SNAPSHOT_YEAR)
    y = np.log(rates.set_index("practice_id")["rate"].reindex(ids).to_numpy())
    x = np.column_stack(
        [np.ones(len(ids)), np.log(cm), np.log(practices["need_index"].to_numpy(float))]
    )
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(1 - resid.var() / y.var())


def top_share(values: np.ndarray, fraction: float) -> float:
    """Share of the total held by the top ``fraction`` of values."""
    ordered = np.sort(values)[::-1]
    k = int(round(len(ordered) * fraction))
    return float(ordered[:k].sum() / ordered.sum())


def relative_second_moment(values: np.ndarray) -> float:
    """E[X^2] / E[X]^2 of per-person costs (Crump 1991; brief model formula 3)."""
    return float(np.mean(values**2) / np.mean(values) ** 2)


def dispersion_phi(safety: pd.DataFrame, year: str = SNAPSHOT_YEAR) -> float:
    """Overdispersion of practice prescribing-error proportions: mean squared z about the PCT."""
    rows = safety.loc[safety["financial_year"] == year]
    p0 = rows["prescribing_errors"].sum() / rows["items_checked"].sum()
    z = (rows["prescribing_errors"] / rows["items_checked"] - p0) / np.sqrt(
        p0 * (1 - p0) / rows["items_checked"]
    )
    return float(np.mean(z**2))


# --------------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------------
SOURCES = {
    "bjgp": "BJGP, practice list size distribution 2011-12 (mean 6,980, SD 4,244, P10 2,392, "
    "P90 12,520), as summarised in the project's domain brief",
    "gponline": "GPonline: mean practice list 5,891 (Apr 2004)",
    "hc1692": "House of Commons Health Committee, HC 1692-i, Q47: HCHS spend 2003-04 by age; "
    "people aged 65+ were 16% of the population and 43% of spend",
    "si2006": "SI 2006/2072: 303 PCTs became 152 from 1 Oct 2006",
    "hes": "Hospital Episode Statistics: GP referrals 7.98m (2004-05), 8.69m, 8.48m (2006-07), "
    "8.88m (2007-08); Jun 2008-May 2009 60.5m outpatient attendances, 8% did not attend, "
    "~2.3 follow-ups per first attendance",
    "osullivan": "O'Sullivan, practice referral rates 2.4%-24.4% a year across 202 practices, "
    "1.3% of variation explained by age, sex and morbidity (via Pulse)",
    "chks": "CHKS, via HSJ: emergency admissions 83 -> 94 and A&E attendances 260 -> 352 per "
    "1,000, 2003/04 to 2005/06",
    "hansard2003": "Hansard, 19 Sep 2003: GP written referrals and elective admissions "
    "1997-98 to 2002-03",
    "prescribing": "Prescribing in England 2006: 14.8 items per head (40.8 aged 65+), NIC "
    "£10.90 per item, NIC £8,197m; 2010: 17.8 items and £169 per head",
    "hfma": "HFMA, NHS reference costs 2016/17: outpatient attendance £120, day case £738, "
    "elective admission £3,684, non-elective admission £1,590",
    "reckon": "Reckon, on the 2007/08 PbR tariff (Nicholson's letter): +2.5% uplift",
    "brief_prices": "Project domain brief: 2006/07 first outpatient ~£150-£250, follow-up "
    "~£70-£110, emergency admission ~£1,500-£2,000 (all unverified [U])",
    "consult": "NHS Information Centre / QResearch (Hippisley-Cox & Vinogradova): 5.3 GP "
    "consultations per patient-year (2006), 5.5 (2008); 13.8 at ages 85-89",
    "sandars": "Sandars J, Esmail A. The frequency and nature of medical error in primary care: "
    "understanding the diversity across studies. Fam Pract 2003;20:231-6",
    "nrls": "HSJ: only 5,706 National Reporting and Learning System reports from general "
    "practice in a year",
    "practice": "Avery AJ et al. Investigating the prevalence and causes of prescribing errors "
    "in general practice: the PRACtICe study. GMC, 2012; BJGP 2013;63:e543",
    "ifs": "Kelly E, Stoye G, Vera-Hernandez M. Public hospital spending in England: evidence "
    "from National Health Service administrative records. Fiscal Studies 2016 (IFS)",
    "hf": "Health Foundation, high-cost patients analysis, 2019 (2014/15 data): top 5% of "
    "patients ~50% of spend",
    "crump": "Crump BJ et al. Fundholding in general practice and financial risk. "
    "BMJ 1991;302:1582",
}


def col(name: str, type_: str, unit: str, description: str, **extra: object) -> dict:
    """One column entry of a sidecar schema."""
    return {"name": name, "type": type_, "unit": unit, "description": description, **extra}


def target(
    metric: str, text: str, value: float, tolerance: str, tag: str, source: str, achieved: float
) -> dict:
    """One calibration entry; ``metric`` is the id the calibration tests compute it by."""
    return {
        "metric": metric,
        "target": text,
        "value": value,
        "tolerance": tolerance,
        "tag": tag,
        "source": SOURCES.get(source, source),
        "achieved": round(float(achieved), 4),
    }


def assumption(name: str, value: object, tag: str, note: str) -> dict:
    """One labelled, changeable assumption."""
    return {"name": name, "value": value, "tag": tag, "note": note}


def sidecar(
    title: str,
    description: str,
    seed: int,
    years: tuple[str, ...] | None,
    calibration: list[dict],
    assumptions: list[dict],
    sources: list[str],
    columns: list[dict],
    unique_together: list[str] | None = None,
    computed: list[dict] | None = None,
) -> dict:
    """A sidecar dictionary in the project's common format, keys in a fixed order."""
    out: dict = {
        "title": title,
        "description": description,
        "synthetic": True,
        "generator": "pbc_lib.synth",
        "seed": int(seed),
    }
    if years:
        out["financial_years"] = list(years)
    out["calibration"] = calibration
    out["assumptions"] = assumptions
    if computed:
        out["computed"] = computed
    out["sources"] = [SOURCES[s] for s in sources]
    out["columns"] = columns
    if unique_together:
        out["unique_together"] = unique_together
    return out


PRACTICE_ID = col("practice_id", "string", "", "Practice code (fictional).", pattern="^WM[0-9]{3}$")
YEAR_COL = col(
    "financial_year", "category", "", "NHS financial year (April to March).", allowed=list(YEARS)
)


def practices_sidecar(df: pd.DataFrame, seed: int) -> dict:
    """Sidecar for practices.csv."""
    by_pct = df.groupby("predecessor_pct")["list_size"].sum()
    p10, p90 = np.percentile(df["list_size"], [10, 90])
    need_mean = np.average(df["need_index"], weights=df["list_size"])
    cal = [
        target("list_size_p10", "list size, 10th percentile", LIST_P10_V, "±15%", "V", "bjgp", p10),
        target("list_size_p90", "list size, 90th percentile", LIST_P90_V, "±15%", "V", "bjgp", p90),
        target(
            "n_practices",
            "number of practices",
            N_PRACTICES,
            "between 40 and 55",
            "U",
            "project design: 40-55 practices for ~300,000 people",
            len(df),
        ),
        target(
            "pct_list_total",
            "PCT registered list (sum of practices)",
            300_000,
            "±10%",
            "V",
            "Checkland, PRUComm briefing: PCTs ~300,000 after the 2006 mergers",
            df["list_size"].sum(),
        ),
        target(
            "predecessor_list_min",
            "smallest predecessor PCT list",
            100_000,
            "between 90000 and 110000",
            "V",
            "Checkland, PRUComm briefing: PCTs ~100,000 at creation in 2003",
            by_pct.min(),
        ),
        target(
            "predecessor_list_max",
            "largest predecessor PCT list",
            100_000,
            "between 90000 and 110000",
            "V",
            "Checkland, PRUComm briefing: PCTs ~100,000 at creation in 2003",
            by_pct.max(),
        ),
        target(
            "need_weighted_mean",
            "need index, list-weighted mean",
            1.0,
            "±0.005",
            "D",
            "definition of an index",
            need_mean,
        ),
    ]
    asm = [
        assumption(
            "list size model",
            f"lognormal, median {LIST_MEDIAN:,}, sigma {LIST_SIGMA}, stratified quantiles",
            "D",
            "brief's suggested model",
        ),
        assumption(
            "locality need effects (log scale)",
            dict(LOCALITY_NEED),
            "U",
            "city centre and coast more deprived; practice SD 0.10; clipped 0.7-1.5",
        ),
    ]
    cols = [
        {**PRACTICE_ID, "unique": True},
        col("practice_name", "string", "", "Practice name (fictional).", unique=True),
        col(
            "locality",
            "category",
            "",
            "Locality: the natural PbC cluster.",
            allowed=list(LOCALITY_AGE_TILT),
        ),
        col(
            "predecessor_pct",
            "category",
            "",
            "PCT the practice belonged to before 1 Oct 2006.",
            allowed=list(PREDECESSORS),
        ),
        col("list_size", "integer", "patients", "Registered patients, 2006/07.", min=0),
        col(
            "need_index",
            "number",
            "index",
            "Additional-need index (list-weighted PCT mean 1.0).",
            min=0.5,
            max=2.0,
        ),
    ]
    return sidecar(
        "Practices of Wyndmoor PCT (fictional)",
        "One row per GP practice: its locality, predecessor PCT, 2006/07 list size "
        "and an additional-need index.",
        seed,
        (SNAPSHOT_YEAR,),
        cal,
        asm,
        ["bjgp", "gponline", "si2006"],
        cols,
    )


def population_sidecar(df: pd.DataFrame, seed: int) -> dict:
    """Sidecar for population.csv."""
    total = df["persons"].sum()
    older = df.loc[df["age_band"].isin(OLDER_BANDS), "persons"].sum() / total * 100
    oldest = df.loc[df["age_band"] == "85+", "persons"].sum() / total * 100
    shares = older_shares(df) * 100
    cal = [
        target("older_share_pct", "PCT share aged 65+ (%)", 16.0, "±1pp", "V", "hc1692", older),
        target(
            "oldest_share_pct",
            "PCT share aged 85+ (%)",
            2.0,
            "±0.5pp",
            "U",
            "brief: 85+ share ~2% [U]",
            oldest,
        ),
        target(
            "practice_older_min_pct",
            "youngest practice, share aged 65+ (%)",
            6.0,
            "between 5 and 10",
            "U",
            "brief/design: practices vary, ~6%-30%",
            shares.min(),
        ),
        target(
            "practice_older_max_pct",
            "oldest practice, share aged 65+ (%)",
            30.0,
            "between 25 and 32",
            "U",
            "brief/design: practices vary, ~6%-30%",
            shares.max(),
        ),
    ]
    asm = [
        assumption(
            "age profiles",
            {
                "standard": list(AGE_PROFILE_STANDARD),
                "young": list(AGE_PROFILE_YOUNG),
                "old": list(AGE_PROFILE_OLD),
            },
            "U",
            "each practice mixes the standard profile with the young or old one",
        ),
        assumption(
            "locality age tilt",
            dict(LOCALITY_AGE_TILT),
            "U",
            "-1 all young, +1 all old; practice SD 0.2; shifted so the PCT is 16% 65+",
        ),
        assumption("female share by age band", list(FEMALE_SHARE), "U", "ONS-like"),
    ]
    cols = [
        PRACTICE_ID,
        col("sex", "category", "", "F female, M male.", allowed=list(SEXES)),
        col(
            "age_band",
            "category",
            "years",
            "Age band (the HCHS cost-table bands).",
            allowed=list(AGE_BANDS),
        ),
        col("persons", "integer", "patients", "Registered patients in the group.", min=0),
    ]
    return sidecar(
        "Registered population by practice, sex and age band, 2006/07",
        "Registered patients of each practice by sex and age band in 2006/07; each "
        "practice's rows add up to its list size.",
        seed,
        (SNAPSHOT_YEAR,),
        cal,
        asm,
        ["hc1692"],
        cols,
        ["practice_id", "sex", "age_band"],
    )


def list_sizes_sidecar(df: pd.DataFrame, seed: int) -> dict:
    """Sidecar for list_sizes.csv."""
    wide = df.pivot(index="practice_id", columns="financial_year", values="registered_patients")
    change = (wide[list(YEARS)].pct_change(axis=1).abs().max().max()) * 100
    cal = [
        target(
            "list_change_max_pct",
            "largest year-to-year change in a practice list (%)",
            6.0,
            "at most",
            "U",
            "small drift assumed",
            change,
        )
    ]
    asm = [
        assumption(
            "annual list growth",
            {"mean": LIST_GROWTH_MEAN, "sd": LIST_GROWTH_SD},
            "U",
            "back-cast from 2006/07; England grew 5,753 -> 6,651 per practice "
            "2001-2011 [V], partly through mergers",
        )
    ]
    cols = [
        PRACTICE_ID,
        YEAR_COL,
        col(
            "registered_patients",
            "integer",
            "patients",
            "Registered patients in the year (2006/07 equals practices.list_size).",
            min=0,
        ),
    ]
    return sidecar(
        "Practice list sizes, 2004/05 to 2006/07",
        "Registered patients of each practice in each financial year; the 2006/07 "
        "figure is the practice's list size.",
        seed,
        YEARS,
        cal,
        asm,
        ["gponline"],
        cols,
        ["practice_id", "financial_year"],
    )


def metric_year(year: str) -> str:
    """'2006/07' -> '2006_07' for metric ids."""
    return year.replace("/", "_")


def activity_year_targets(activity: pd.DataFrame, list_sizes: pd.DataFrame) -> list[dict]:
    """Per-year PCT rate targets for referrals, emergency, elective and A&E activity."""
    cal = []
    for year in YEARS:
        y = metric_year(year)
        elective = sum(
            pct_rate(activity, list_sizes, p, year) for p in ("elective_inpatient", "day_case")
        )
        cal += [
            target(
                f"referral_rate_{y}",
                f"GP referrals per 1,000, {year}",
                REFERRAL_RATE[year],
                "between 165 and 195",
                "D",
                "hes",
                pct_rate(activity, list_sizes, "gp_referral", year),
            ),
            target(
                f"non_elective_rate_{y}",
                f"emergency admissions per 1,000, {year}",
                NON_ELECTIVE_RATE[year],
                "between 85 and 95",
                "V",
                "chks",
                pct_rate(activity, list_sizes, "non_elective", year),
            ),
            target(
                f"elective_rate_{y}",
                f"elective + day case admissions per 1,000, {year}",
                110.0,
                "±10%",
                "D",
                "hansard2003",
                elective,
            ),
            target(
                f"ae_rate_{y}",
                f"A&E attendances per 1,000, {year}",
                AE_RATE[year],
                "±5%",
                "V" if year == "2005/06" else ("D" if year == "2004/05" else "U"),
                "chks",
                pct_rate(activity, list_sizes, "ae_attendance", year),
            ),
        ]
    for prev, year in zip(YEARS[:-1], YEARS[1:], strict=True):
        growth = (
            pct_rate(activity, list_sizes, "non_elective", year)
            / pct_rate(activity, list_sizes, "non_elective", prev)
            - 1
        ) * 100
        cal.append(
            target(
                f"non_elective_growth_{metric_year(year)}",
                f"growth in emergency admissions per 1,000, {prev} to {year} (%)",
                5.0,
                "between 3 and 7",
                "V",
                "chks",
                growth,
            )
        )
    return cal


def activity_practice_targets(
    practices: pd.DataFrame,
    population: pd.DataFrame,
    activity: pd.DataFrame,
    list_sizes: pd.DataFrame,
) -> list[dict]:
    """Targets on the spread of practice rates and on outpatient ratios."""
    ref = practice_rates(activity, list_sizes, "gp_referral")
    now = ref.loc[ref["financial_year"] == SNAPSHOT_YEAR, "rate"]
    p10, p90 = np.percentile(now, [10, 90])
    ne = practice_rates(activity, list_sizes, "non_elective", SNAPSHOT_YEAR).set_index(
        "practice_id"
    )["rate"]
    need = practices.set_index("practice_id")["need_index"].reindex(ne.index)
    total = activity.groupby("pod")["activity"].sum()
    booked = np.round(
        activity.loc[activity["pod"] == "gp_referral", "activity"].to_numpy()
        * FIRST_BOOKINGS_PER_GP_REFERRAL
    ).sum()
    return [
        target(
            "referral_p90_p10",
            "GP referral rate P90 / P10 across practices, 2006/07",
            2.0,
            "at least",
            "U",
            "lead's design target for wide, overdispersed variation",
            p90 / p10,
        ),
        target(
            "referral_practice_min",
            "lowest practice GP referral rate per 1,000, any year",
            24.0,
            "at least",
            "V",
            "osullivan",
            ref["rate"].min(),
        ),
        target(
            "referral_practice_max",
            "highest practice GP referral rate per 1,000, any year",
            244.0,
            "at most",
            "V",
            "osullivan",
            ref["rate"].max(),
        ),
        target(
            "referral_case_mix_r2",
            "R^2 of log referral rate on log age-sex expected rate and log need, 2006/07",
            0.2,
            "at most",
            "V",
            "osullivan",
            referral_r_squared(practices, population, activity, list_sizes),
        ),
        target(
            "follow_ups_per_first",
            "outpatient follow-ups per first attendance (3 years)",
            FOLLOW_UPS_PER_FIRST,
            "±0.1",
            "V",
            "hes",
            total["op_follow_up"] / total["op_first"],
        ),
        target(
            "first_attended_share",
            "first attendances / booked first appointments",
            0.92,
            "±0.01",
            "V",
            "hes",
            total["op_first"] / booked,
        ),
        target(
            "non_elective_corr_older",
            "correlation of practice emergency rate with 65+ share, 2006/07",
            0.3,
            "at least",
            "D",
            "chks",
            np.corrcoef(ne, older_shares(population).reindex(ne.index))[0, 1],
        ),
        target(
            "non_elective_corr_need",
            "correlation of practice emergency rate with need index, 2006/07",
            0.3,
            "at least",
            "D",
            "chks",
            np.corrcoef(ne, need)[0, 1],
        ),
    ]


def activity_sidecar(
    practices: pd.DataFrame,
    population: pd.DataFrame,
    df: pd.DataFrame,
    list_sizes: pd.DataFrame,
    seed: int,
) -> dict:
    """Sidecar for activity.csv."""
    cal = activity_year_targets(df, list_sizes) + activity_practice_targets(
        practices, population, df, list_sizes
    )
    asm = [
        assumption(
            "first appointments booked per GP referral",
            FIRST_BOOKINGS_PER_GP_REFERRAL,
            "D",
            "60.5m / 3.3 = 18.3m firsts; / 0.92 = 19.9m booked; / 8.88m GP referrals "
            "= 2.24; other sources assumed proportional to GP referrals [U]",
        ),
        assumption("did-not-attend rate", DNA_RATE, "V", "HES 2008/09"),
        assumption("day-case share of elective admissions", DAY_CASE_SHARE, "U", "no source"),
        assumption(
            "referral propensity shape",
            {"beta": list(REFERRAL_BETA), "low": 24.0, "high": REFERRAL_LATENT_HIGH},
            "U",
            "a right-skewed gamma cannot give mean >= 165, P90/P10 >= 2 and max <= 244 "
            "together; rates scaled each year to the PCT target; Poisson counts redrawn "
            "if outside 24-244",
        ),
        assumption(
            "relative rates by age band (16-44 = 1)",
            {k: list(v) for k, v in AGE_REL.items()},
            "U",
            "bands 0-4 ... 85+; outpatients follow the referral profile",
        ),
        assumption("female:male rate ratio by age band", list(FEMALE_TO_MALE), "U", ""),
        assumption("need elasticity", dict(NEED_ELASTICITY), "U", "rate ~ need ** elasticity"),
        assumption(
            "PCT rates per 1,000",
            {
                "gp_referral": dict(REFERRAL_RATE),
                "non_elective": dict(NON_ELECTIVE_RATE),
                "elective": dict(ELECTIVE_RATE),
                "ae_attendance": dict(AE_RATE),
            },
            "U",
            "within the brief's ranges; see the targets for their sources",
        ),
    ]
    cols = [
        PRACTICE_ID,
        YEAR_COL,
        col("pod", "category", "", "Point of delivery.", allowed=list(PODS)),
        col(
            "activity",
            "integer",
            "count",
            "Referrals, attendances or admissions in the year.",
            min=0,
        ),
    ]
    return sidecar(
        "Hospital activity by practice, year and point of delivery",
        "Counts of GP referrals, outpatient attendances, admissions and A&E attendances "
        "for each practice's registered patients, 2004/05 to 2006/07.",
        seed,
        YEARS,
        cal,
        asm,
        ["hes", "osullivan", "chks", "hansard2003"],
        cols,
        ["practice_id", "financial_year", "pod"],
    )


def prescribing_sidecar(
    population: pd.DataFrame, df: pd.DataFrame, list_sizes: pd.DataFrame, seed: int
) -> dict:
    """Sidecar for prescribing.csv."""
    merged = df.merge(list_sizes, on=["practice_id", "financial_year"])
    cal = []
    for year in YEARS:
        rows = merged.loc[merged["financial_year"] == year]
        items, nic = prescribing_targets(year)
        tag = "V" if year == SNAPSHOT_YEAR else "D"
        cal += [
            target(
                f"items_per_head_{metric_year(year)}",
                f"items per head, {year}",
                round(items, 2),
                "±0.5",
                tag,
                "prescribing",
                rows["items"].sum() / rows["registered_patients"].sum(),
            ),
            target(
                f"nic_per_head_{metric_year(year)}",
                f"net ingredient cost per head (£), {year}",
                round(nic, 2),
                "±8",
                tag,
                "prescribing",
                rows["net_ingredient_cost_gbp"].sum() / rows["registered_patients"].sum(),
            ),
        ]
    now = merged.loc[merged["financial_year"] == SNAPSHOT_YEAR].set_index("practice_id")
    per_head = now["items"] / now["registered_patients"]
    cal += [
        target(
            "nic_per_item_2006_07",
            "net ingredient cost per item (£), 2006/07",
            NIC_PER_ITEM_2006,
            "±0.3",
            "V",
            "prescribing",
            now["net_ingredient_cost_gbp"].sum() / now["items"].sum(),
        ),
        target(
            "items_corr_older",
            "correlation of practice items per head with 65+ share, 2006/07",
            0.5,
            "at least",
            "D",
            "prescribing (40.8 items aged 65+)",
            np.corrcoef(per_head, older_shares(population).reindex(per_head.index))[0, 1],
        ),
    ]
    asm = [
        assumption(
            "items per head aged 65+ (model input, not in the table)",
            ITEMS_PER_HEAD_65PLUS_2006,
            "V",
            "age weights scaled so the PCT gives 14.8 overall and 40.8 aged 65+",
        ),
        assumption("relative items by age band", list(ITEMS_AGE_REL), "U", ""),
        assumption(
            "back-cast growth",
            {"items": round(ITEMS_GROWTH, 4), "nic_per_head": round(NIC_PER_HEAD_GROWTH, 4)},
            "D",
            "(17.8/14.8)**(1/4) = 1.0473; (169/(14.8 x 10.90))**(1/4) = (169/161.32)"
            "**(1/4) = 1.0117; each earlier year divides by these; calendar 2006 taken "
            "as 2006/07 [U]",
        ),
        assumption(
            "practice spread",
            {"items_gamma_shape": PRESCRIBING_EFFECT_SHAPE, "cost_per_item_sd": NIC_PER_ITEM_SD},
            "U",
            "",
        ),
    ]
    cols = [
        PRACTICE_ID,
        YEAR_COL,
        col("items", "integer", "items", "Prescription items dispensed in the year.", min=0),
        col("net_ingredient_cost_gbp", "number", "£", "Net ingredient cost of those items.", min=0),
    ]
    return sidecar(
        "Prescribing by practice and year",
        "Prescription items and their net ingredient cost for each practice, 2004/05 to 2006/07.",
        seed,
        YEARS,
        cal,
        asm,
        ["prescribing"],
        cols,
        ["practice_id", "financial_year"],
    )


def prices_sidecar(df: pd.DataFrame, seed: int) -> dict:
    """Sidecar for prices.csv."""
    wide = df.pivot(index="pod", columns="financial_year", values="unit_price_gbp")
    uplift = wide["2007/08"] / wide["2006/07"]
    now = wide["2006/07"]
    cal = [
        target(
            "price_op_first_2006_07",
            "first outpatient price (£), 2006/07",
            200.0,
            "between 150 and 250",
            "U",
            "brief_prices",
            now["op_first"],
        ),
        target(
            "price_op_follow_up_2006_07",
            "follow-up outpatient price (£), 2006/07",
            90.0,
            "between 70 and 110",
            "U",
            "brief_prices",
            now["op_follow_up"],
        ),
        target(
            "price_non_elective_2006_07",
            "non-elective price (£), 2006/07",
            1750.0,
            "between 1500 and 2000",
            "U",
            "brief_prices",
            now["non_elective"],
        ),
        target(
            "price_day_case_2006_07",
            "day case price (£), 2006/07 (HFMA scaled)",
            round(738 * HFMA_SCALE),
            "±1",
            "D",
            "hfma",
            now["day_case"],
        ),
        target(
            "price_elective_2006_07",
            "elective inpatient price (£), 2006/07 (HFMA scaled)",
            round(3684 * HFMA_SCALE),
            "±1",
            "D",
            "hfma",
            now["elective_inpatient"],
        ),
        target(
            "price_uplift_min",
            "smallest 2007/08 / 2006/07 price ratio",
            1.025,
            "±0.0005",
            "V",
            "reckon",
            uplift.min(),
        ),
        target(
            "price_uplift_max",
            "largest 2007/08 / 2006/07 price ratio",
            1.025,
            "±0.0005",
            "V",
            "reckon",
            uplift.max(),
        ),
    ]
    asm = [
        assumption(
            "HFMA scale factor",
            round(HFMA_SCALE, 4),
            "D",
            "1,750 / 1,590: keeps "
            "HFMA 2016/17 relativities, level set by the 2006/07 non-elective anchor",
        ),
        assumption(
            "A&E attendance price", PRICE_AE_2006, "U", "illustrative assumption, no source"
        ),
        assumption("back-cast before 2006/07", PRICE_BACKCAST, "U", "2.5% a year lower"),
    ]
    cols = [
        col("financial_year", "category", "", "NHS financial year.", allowed=list(PRICE_YEARS)),
        col("pod", "category", "", "Point of delivery.", allowed=list(PRICED_PODS)),
        col("unit_price_gbp", "number", "£", "Price per attendance or admission.", min=0),
        col("basis", "string", "", "Where the price comes from, with its tag."),
    ]
    return sidecar(
        "Unit prices by year and point of delivery",
        "Illustrative tariff-style prices "
        "per attendance or admission, 2004/05 to 2007/08, with the basis of each.",
        seed,
        PRICE_YEARS,
        cal,
        asm,
        ["brief_prices", "hfma", "reckon"],
        cols,
        ["financial_year", "pod"],
    )


def safety_sidecar(df: pd.DataFrame, list_sizes: pd.DataFrame, seed: int) -> dict:
    """Sidecar for safety.csv."""
    now = df.loc[df["financial_year"] == SNAPSHOT_YEAR]
    lists = list_sizes.loc[list_sizes["financial_year"] == SNAPSHOT_YEAR, "registered_patients"]
    reported = REPORTING_COMPLETENESS_MEAN * ERROR_RATE_PER_100K
    cal = [
        target(
            "consultations_per_patient_2006_07",
            "GP consultations per patient-year, 2006/07",
            5.3,
            "±0.1",
            "V",
            "consult",
            now["consultations"].sum() / lists.sum(),
        ),
        target(
            "incidents_per_100k",
            "reported incidents per 100,000 consultations (3 years)",
            round(reported, 2),
            "±35%",
            "D",
            "16 per 100,000 (Sandars & Esmail range 5-80) x "
            "reporting completeness 5,706 / 48,000 (NRLS)",
            df["incidents_reported"].sum() / df["consultations"].sum() * 1e5,
        ),
        target(
            "prescribing_error_pct",
            "prescribing errors per 100 items checked (3 years)",
            4.9,
            "between 4.4 and 5.5",
            "V",
            "practice",
            df["prescribing_errors"].sum() / df["items_checked"].sum() * 100,
        ),
        target(
            "severe_share_pct",
            "severe errors per 100 errors (3 years)",
            4.0,
            "±1.5",
            "V",
            "practice",
            df["severe_errors"].sum() / df["prescribing_errors"].sum() * 100,
        ),
        target(
            "error_dispersion_phi",
            "overdispersion of practice error proportions (mean squared z), 2006/07",
            1.5,
            "at least",
            "D",
            "practice",
            dispersion_phi(df),
        ),
        target(
            "items_checked_mean",
            "mean items checked per practice-year",
            400.0,
            "±25%",
            "D",
            "practice",
            df["items_checked"].mean(),
        ),
    ]
    asm = [
        assumption(
            "true error rate per 100,000 consultations",
            {
                "mean": ERROR_RATE_PER_100K,
                "lognormal_sigma": ERROR_RATE_SIGMA,
                "range": list(ERROR_RATE_RANGE),
            },
            "V/U",
            "range V; spread U",
        ),
        assumption(
            "reporting completeness",
            {
                "mean": round(REPORTING_COMPLETENESS_MEAN, 4),
                "beta_concentration": REPORTING_COMPLETENESS_CONCENTRATION,
            },
            "D/U",
            "mean 5,706 / 48,000 [D]; spread between practices [U]",
        ),
        assumption(
            "prescribing error rate between practices",
            {"mean": PRESCRIBING_ERROR_RATE, "beta_concentration": PRESCRIBING_ERROR_CONCENTRATION},
            "V/U",
            "mean V (PRACtICe); spread U",
        ),
        assumption("consultations by age band (relative)", list(CONSULT_AGE_REL), "U", ""),
    ]
    cols = [
        PRACTICE_ID,
        YEAR_COL,
        col("consultations", "integer", "consultations", "GP consultations in the year.", min=0),
        col(
            "incidents_reported",
            "integer",
            "incidents",
            "Patient-safety incidents reported.",
            min=0,
        ),
        col("items_checked", "integer", "items", "Prescription items in the audit sample.", min=0),
        col(
            "prescribing_errors",
            "integer",
            "items",
            "Audited items with a prescribing or monitoring error.",
            min=0,
        ),
        col("severe_errors", "integer", "items", "Errors judged severe.", min=0),
    ]
    return sidecar(
        "Patient safety: incidents and a prescribing audit",
        "Consultations, reported "
        "safety incidents and a prescribing-error audit for each practice and year.",
        seed,
        YEARS,
        cal,
        asm,
        ["consult", "sandars", "nrls", "practice"],
        cols,
        ["practice_id", "financial_year"],
    )


def activity_cost_per_head(
    activity: pd.DataFrame, list_sizes: pd.DataFrame, prices: pd.DataFrame
) -> float:
    """PCT 2006/07 hospital cost per registered patient: activity x unit prices."""
    year_prices = prices.loc[prices["financial_year"] == SNAPSHOT_YEAR].set_index("pod")
    return sum(
        pct_rate(activity, list_sizes, pod, SNAPSHOT_YEAR)
        / 1000
        * float(year_prices.at[pod, "unit_price_gbp"])
        for pod in PRICED_PODS
    )


def patient_costs_targets(df: pd.DataFrame, per_head: float) -> list[dict]:
    """Concentration, zero share, mean and age-gradient targets for patient_costs."""
    total = df["total_gbp"].to_numpy()
    band_mean = df.groupby("age_band")["total_gbp"].mean()
    cal = [
        target(
            "top1_share_pct",
            "share of spend, top 1% of people (%)",
            30.0,
            "±4",
            "V",
            "ifs",
            top_share(total, 0.01) * 100,
        ),
        target(
            "top5_share_pct",
            "share of spend, top 5% of people (%)",
            50.0,
            "±5",
            "V",
            "hf",
            top_share(total, 0.05) * 100,
        ),
        target(
            "zero_cost_pct",
            "people with no hospital cost in the year (%)",
            65.0,
            "between 60 and 70",
            "U",
            "brief: ~60-70% [U]",
            np.mean(total == 0) * 100,
        ),
        target(
            "mean_vs_activity",
            "sample mean cost / (activity x prices per head), 2006/07",
            1.0,
            "±10%",
            "D",
            "consistency with activity.csv and prices.csv",
            total.mean() / per_head,
        ),
    ]
    for band, rel in zip(AGE_BANDS, HCHS_RELATIVE_COST, strict=True):
        if band != "16-44":
            cal.append(
                target(
                    f"age_cost_{band}",
                    f"mean cost aged {band} / aged 16-44",
                    rel,
                    "±40%",
                    "D",
                    "hc1692",
                    band_mean[band] / band_mean["16-44"],
                )
            )
    return cal


def patient_costs_sidecar(df: pd.DataFrame, per_head: float, seed: int) -> dict:
    """Sidecar for patient_costs.csv, with the relative second moments as computed facts."""
    planned = df["elective_inpatient_gbp"] + df["day_case_gbp"] + df["outpatient_gbp"]
    computed = [
        {
            "name": "relative second moment E[X^2]/E[X]^2, total_gbp",
            "value": round(relative_second_moment(df["total_gbp"].to_numpy()), 2),
            "note": "computed from this file, not a target; for budget risk against list size "
            "(brief, model formula 3)",
        },
        {
            "name": "relative second moment E[X^2]/E[X]^2, elective + day case + outpatient",
            "value": round(relative_second_moment(planned.to_numpy()), 2),
            "note": "the fundholding-style budget scope (planned hospital care); for budget risk "
            "against list size",
        },
        {
            "name": "relative second moment E[X^2]/E[X]^2, elective_inpatient_gbp",
            "value": round(relative_second_moment(df["elective_inpatient_gbp"].to_numpy()), 2),
            "note": "the scope closest to Crump et al. (BMJ 1991), who simulated only the 113 "
            "surgical procedures in the GP fund: their CV of 7.5% at 9,000 patients implies about "
            "1 + 0.075^2 x 9,000 = 51.6",
        },
        {
            "name": "activity x prices per head, 2006/07 (£)",
            "value": round(per_head, 2),
            "note": "from activity.csv, list_sizes.csv and prices.csv",
        },
    ]
    asm = [
        assumption(
            "frailty",
            {
                "at_risk_share": USER_SHARE,
                "gamma_shape": FRAILTY_SHAPE,
                "admission_baseline": ADMISSION_BASELINE,
            },
            "U",
            "outpatient and A&E rates x frailty; admissions independent of it",
        ),
        assumption("event cost spread (lognormal sigma)", dict(EVENT_COST_SIGMA), "U", ""),
        assumption(
            "long emergency stays",
            {"share": LONG_STAY_SHARE, "cost_ratio": LONG_STAY_RATIO},
            "U",
            "a long stay costs 30 times a short one; mean kept at the price",
        ),
        assumption(
            "emergency cost multiplier by age band",
            list(NON_ELECTIVE_AGE_COST),
            "U",
            "normalised to mean 1 over the PCT's admissions",
        ),
        assumption(
            "sample",
            f"{PATIENT_SAMPLE_SIZE:,} people in the PCT's exact age-sex mix "
            "(largest-remainder rounding)",
            "D",
            "",
        ),
    ]
    money = [
        col(name, "number", "£", f"Cost of {what}, 2006/07.", min=0)
        for name, what in (
            ("elective_inpatient_gbp", "elective inpatient admissions"),
            ("day_case_gbp", "day-case admissions"),
            ("outpatient_gbp", "first and follow-up outpatient attendances"),
            ("non_elective_gbp", "emergency admissions"),
            ("ae_gbp", "A&E attendances"),
            ("total_gbp", "all of the above"),
        )
    ]
    cols = [
        col(
            "person_id",
            "string",
            "",
            "Person in the sample (fictional).",
            pattern="^P[0-9]{5}$",
            unique=True,
        ),
        col("age_band", "category", "years", "Age band.", allowed=list(AGE_BANDS)),
        col("sex", "category", "", "F female, M male.", allowed=list(SEXES)),
    ] + money
    return sidecar(
        "Annual hospital costs for a sample of 20,000 people, 2006/07",
        "One row per "
        "person: a year's hospital costs by point of delivery for a sample drawn in "
        "the PCT's age-sex mix.",
        seed,
        (SNAPSHOT_YEAR,),
        patient_costs_targets(df, per_head),
        asm,
        ["ifs", "hf", "hc1692", "crump"],
        cols,
        computed=computed,
    )


# --------------------------------------------------------------------------------------------
# Generate and write
# --------------------------------------------------------------------------------------------
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data"  # the repository's data/
TABLES = STREAMS  # the generated tables, in the order they are drawn
DECIMALS = {
    "need_index": 3,
    "net_ingredient_cost_gbp": 2,
    "unit_price_gbp": 2,
    "elective_inpatient_gbp": 2,
    "day_case_gbp": 2,
    "outpatient_gbp": 2,
    "non_elective_gbp": 2,
    "ae_gbp": 2,
    "total_gbp": 2,
}


def generate(seed: int = MASTER_SEED) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Build every table and its sidecar.

    Parameters
    ----------
    seed : int
        Master seed; each table draws from its own sub-stream.

    Returns
    -------
    dict
        Table name -> (DataFrame, sidecar dict), in ``TABLES`` order.
    """
    rng = make_rngs(seed)
    practices = build_practices(rng["practices"])
    population = build_population(rng["population"], practices)
    lists = build_list_sizes(rng["list_sizes"], practices)
    activity = build_activity(rng["activity"], practices, population, lists)
    prescribing = build_prescribing(rng["prescribing"], practices, population, lists)
    prices = build_prices(rng["prices"])
    safety = build_safety(rng["safety"], practices, population, lists)
    costs = build_patient_costs(rng["patient_costs"], population, activity, lists, prices)
    per_head = activity_cost_per_head(activity, lists, prices)
    return {
        "practices": (practices, practices_sidecar(practices, seed)),
        "population": (population, population_sidecar(population, seed)),
        "list_sizes": (lists, list_sizes_sidecar(lists, seed)),
        "activity": (activity, activity_sidecar(practices, population, activity, lists, seed)),
        "prescribing": (prescribing, prescribing_sidecar(population, prescribing, lists, seed)),
        "prices": (prices, prices_sidecar(prices, seed)),
        "safety": (safety, safety_sidecar(safety, lists, seed)),
        "patient_costs": (costs, patient_costs_sidecar(costs, per_head, seed)),
    }


def csv_text(df: pd.DataFrame) -> str:
    """The table as CSV text with fixed number formats and "\\n" line endings."""
    out = df.copy()
    for name, places in DECIMALS.items():
        if name in out.columns:
            out[name] = [f"{v:.{places}f}" for v in out[name].to_numpy(float)]
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def yaml_text(meta: dict) -> str:
    """The sidecar as YAML text, keys in insertion order."""
    return yaml.safe_dump(
        meta, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )


def write_all(out_dir: Path | str = DEFAULT_OUT, seed: int = MASTER_SEED) -> list[Path]:
    """Regenerate every table into ``out_dir`` (NAME.csv and NAME.csv.yml); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (df, meta) in generate(seed).items():
        for path, text in (
            (out / f"{name}.csv", csv_text(df)),
            (out / f"{name}.csv.yml", yaml_text(meta)),
        ):
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m pbc_lib.synth [--out DIR] [--seed N]``."""
    parser = argparse.ArgumentParser(description="Regenerate the synthetic Wyndmoor PCT data.")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent.parent / "data"),
        help="folder to write into (default: the repository's data/)",
    )
    parser.add_argument("--seed", type=int, default=MASTER_SEED, help="master seed")
    args = parser.parse_args(argv)
    for path in write_all(args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
