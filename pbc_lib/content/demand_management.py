"""Content for workbook 02, "Demand management and the 18-week target": the check-your-
understanding questions, and the checks of the waiting-list simulator against queueing theory
that the workbook prints under the simulator.

Every answer rests on a source named in its explanation (shared/domain/brief.md, section 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pbc_lib.models import waiting_list as wl
from pbc_lib.quiz import MultipleChoice, NumericAnswer, Quiz
from pbc_lib.ui import number, pct, table_html

# The M/M/1 check (as in tests/test_waiting_list.py, at a lighter load so a few runs settle): a
# week read as a short time step, 0.1 referrals and 0.2 removals a step (load 50%, mean wait
# 1/(0.2 - 0.1) = 10 steps, mean number on the list 0.5/(1 - 0.5) = 1).
MM1_ARRIVALS, MM1_SERVICES, MM1_STEPS, MM1_RUNS, MM1_BURN, MM1_SEED = 0.1, 0.2, 5200, 10, 300, 4


def _questions() -> list:
    mean_wait = wl.mean_wait_for_standard(wl.ADMITTED_STANDARD)
    return [
        MultipleChoice(
            question=(
                "In the Evercare pilots of case management (62 practices), what happened to "
                "emergency admissions among the patients case-managed?"
            ),
            options=[
                "They fell by about 15%",
                "No significant change: +16.5% (95% CI −5.7% to +38.7%)",
                "They fell by half",
                "They could not be measured",
            ],
            answer="No significant change: +16.5% (95% CI −5.7% to +38.7%)",
            explanation=(
                "Gravelle et al. (BMJ 2007;334:31) found no significant effect on emergency "
                "admissions: a rise of 16.5%, with a confidence interval from a 5.7% fall to a "
                "38.7% rise. A case manager who costs more than the admissions avoided loses "
                "money, as the scheme designer shows."
            ),
            hint="Look at the scheme designer's 'Evercare as measured' option.",
        ),
        NumericAnswer(
            question=(
                "If waits are roughly exponential, what is the longest mean wait, in weeks, that "
                "still puts 90% of patients within 18 weeks? (One decimal place.)"
            ),
            answer=round(mean_wait, 1),
            tolerance=0.05,
            unit="weeks",
            explanation=(
                f"The share within t weeks is 1 − exp(−t/W), so 90% within 18 weeks needs "
                f"W ≤ 18 / ln 10 = {mean_wait:.1f} weeks; 95% needs W ≤ 18 / ln 20 = 6.0 weeks "
                "(Fong et al., medRxiv 2022; the NHS-R NHSRwaitinglist package)."
            ),
            hint="Solve 1 − exp(−18/W) = 0.90 for W: W = 18 / ln(10).",
        ),
        MultipleChoice(
            question=(
                "Under the 18-week rules (2010 rules suite), when does the clock start for a "
                "patient a GP refers to an assessment service (ICATS) that later refers them "
                "to hospital?"
            ),
            options=[
                "When the GP refers the patient to the assessment service",
                "When the hospital receives the onward referral",
                "At the first hospital appointment",
                "When the patient is put on the list for surgery",
            ],
            answer="When the GP refers the patient to the assessment service",
            explanation=(
                "The clock starts on referral to a consultant-led service or to an interface, "
                "referral-management or assessment service such as ICATS (2010 rules suite). "
                "Time at the service counts toward the 18 weeks, so a slow triage eats into "
                "the hospital's time."
            ),
            hint="Referral-management services do not stop or delay the clock.",
        ),
    ]


def quiz() -> Quiz:
    """The three questions of "Check your understanding" (the workbook gives the heading)."""
    return Quiz(_questions(), title=None)


def _mm1_run() -> tuple[wl.WaitingListResult, np.ndarray]:
    r = wl.simulate_waiting_list(
        MM1_ARRIVALS,
        MM1_SERVICES,
        MM1_STEPS,
        runs=MM1_RUNS,
        referral_noise="poisson",
        capacity_noise="poisson",
        seed=MM1_SEED,
    )
    waits = [
        r.patient_waits(run)[int(r.cum_treated[run, r.start_weeks + MM1_BURN]) :]
        for run in range(MM1_RUNS)
    ]
    return r, np.concatenate(waits)


def queue_checks(explosion: pd.DataFrame) -> pd.DataFrame:
    """The simulator against queueing theory: what the model gives beside what theory says.

    ``explosion`` is the table behind the simulator's list-explosion chart (columns load,
    capacity, steady_list, list_year2;
    simulator's list-explosion chart, :func:`pbc_lib.apps.rtt_simulator.explosion`), whose
    loads 95% and 98% are compared with the steady-state list. The weekly model lets a patient
    be treated in the step they arrive, so its waits come out about half a step shorter than
    continuous-time M/M/1 (see tests/test_waiting_list.py).
    """
    r, waits = _mm1_run()
    rho = MM1_ARRIVALS / MM1_SERVICES
    mean_wait = 1 / (MM1_SERVICES - MM1_ARRIVALS)
    q = r.list_size[:, MM1_BURN:]
    time_average = float(((q + r.list_size[:, MM1_BURN - 1 : -1]) / 2).mean())
    throughput = float(r.treated[:, MM1_BURN:].mean())
    ninety = -np.log(0.1) * mean_wait
    load = f"{rho:.0%}"
    rows = [
        (
            f"M/M/1 at load {load}: mean wait (time steps)",
            number(mean_wait, 1),
            number(waits.mean(), 1),
        ),
        (
            f"M/M/1 at load {load}: mean number on the list",
            number(rho / (1 - rho), 2),
            number(time_average, 2),
        ),
        (
            "Little's law: list = throughput × mean wait",
            number(throughput * waits.mean(), 2),
            number(time_average, 2),
        ),
        (
            "Share of waits within the 90% point (2.3 mean waits)",
            pct(0.90, 1),
            pct(np.mean(waits <= ninety), 1),
        ),
    ]
    by_load = explosion.set_index("load")
    for load in (0.95, 0.98):
        if load in by_load.index:
            row = by_load.loc[load]
            rows.append(
                (
                    f"Mean list in year 2 at load {load:.0%}, capacity {row['capacity']:,.0f} a "
                    "week (Kingman: an upper bound)",
                    number(row["steady_list"], 1),
                    number(row["list_year2"], 1),
                )
            )
    return pd.DataFrame(rows, columns=["Check", "Queueing theory", "Simulator"])


def queue_checks_html(explosion: pd.DataFrame) -> str:
    """:func:`queue_checks` as a plain table with its caption."""
    caption = (
        f"The simulator against queueing theory: M/M/1 from {MM1_RUNS} runs of "
        f"{number(MM1_STEPS)} steps (seed {MM1_SEED}); lists from the explosion chart"
    )
    return table_html(queue_checks(explosion), caption=caption)
