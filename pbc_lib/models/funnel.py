"""Funnel plots for comparing practices: proportions, observed/expected ratios and rates.

A funnel plot puts each unit's value (a proportion, an O/E ratio or a rate) against its
denominator (items checked, expected count, consultations), with control limits that narrow as the
denominator grows. Units outside the 95% limits (about 2 SD) earn an "alert" and outside the 99.8%
limits (about 3 SD) an "alarm" (Spiegelhalter, Stat Med 2005;24:1185; QSHC 2002;11:390).

Three kinds of data share one set of functions:

- ``"proportion"``: events out of trials (prescribing errors per item checked). Exact limits come
  from the binomial distribution.
- ``"ratio"``: observed count against an expected count (GP referrals against the number expected
  from the practice's age-sex mix). The value is O/E; the target is 1 unless you give another.
- ``"rate"``: events per unit of exposure (incidents per consultation), shown per ``per`` units
  (for example per 100,000 consultations). Ratio and rate both use the Poisson distribution: a rate
  r0 over n contacts is an O/E ratio with E = r0 * n.

Exact limits use Spiegelhalter's interpolation (2005, appendix A.1): with r the p-quantile of the
count and F its cumulative distribution, alpha = (F(r) - p) / (F(r) - F(r - 1)) and the limit is
(r - alpha) / n. This gives smooth curves for a discrete count. The normal approximation,
target +/- z * s, is returned beside them (s = sqrt(p0(1 - p0)/n) or sqrt(theta0/n)). Limits are
clipped at 0 (and at 1 for proportions); a count below a clipped lower limit is impossible, so no
unit is flagged "below" when its lower limit is 0.

Overdispersion (more spread between units than chance allows, common when practices really do
differ) is handled two ways, both on the normal approximation as in Spiegelhalter 2005 and the NHS
FunnelPlotR package: phi is the mean squared z-score after winsorising 10% of z-scores at each end;
the multiplicative method widens the limits by sqrt(phi), and only when phi > 1; the additive
method adds a between-unit variance tau^2 (DerSimonian-Laird style) to each unit's s^2. The brief
gives the structure of tau^2 from the FunnelPlotR documentation [V] but the exact expression as
printed in Spiegelhalter 2005 was not seen, so the formula here is tagged [U].

Winsorising pulls phi down: for z-scores that really are standard normal, the 10% winsorised mean
square is about 0.68, not 1 [D: (0.8 - 2 * 1.2816 * 0.1755) + 0.2 * 1.2816^2 = 0.679]. So phi > 1
after winsorising is a strong sign of overdispersion, and phi a little below 1 is not evidence of
underdispersion.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbc_lib.models import distributions as dd

KINDS = ("proportion", "ratio", "rate")
METHODS = ("exact", "normal")
ADJUSTMENTS = ("none", "multiplicative", "additive")

ALERT_LEVEL = 0.95  # [V] Spiegelhalter 2005: 95% limits (~2 SD), "alert"
ALARM_LEVEL = 0.998  # [V] Spiegelhalter 2005: 99.8% limits (~3 SD), "alarm"
LEVELS = (ALERT_LEVEL, ALARM_LEVEL)
DEFAULT_WINSORISE = 0.10  # [V] FunnelPlotR docs: winsorise 10% at each end by default
RATIO_TARGET = 1.0  # an O/E ratio's target: observed equals expected

MAX_UNITS = 100_000  # cap on units in one call, so no input can make the kernel run away
MAX_GRID_POINTS = 1_000  # cap on points along each limit curve
DEFAULT_GRID_POINTS = 200
MAX_PER = 10_000_000  # largest display multiplier (e.g. per 100,000 consultations)

FLAG_WITHIN = "within limits"
FLAG_ABOVE_ALERT = "above 95% (alert)"
FLAG_ABOVE_ALARM = "above 99.8% (alarm)"
FLAG_BELOW_ALERT = "below 95% (alert)"
FLAG_BELOW_ALARM = "below 99.8% (alarm)"
FLAGS = (FLAG_BELOW_ALARM, FLAG_BELOW_ALERT, FLAG_WITHIN, FLAG_ABOVE_ALERT, FLAG_ABOVE_ALARM)

ADJUSTMENT_LABELS = {
    "none": "none",
    "multiplicative": "multiplicative phi",
    "additive": "additive tau2",
}


class FunnelError(ValueError):
    """An input to a funnel-plot function is missing, out of range or of the wrong kind."""


# --------------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------------
def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise FunnelError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _check_number(name: str, value: float, low: float, high: float, *, open_low=True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise FunnelError(f"{name} must be a number; got {value!r}") from None
    too_low = x <= low if open_low else x < low
    if not np.isfinite(x) or too_low or x > high:
        bound = "above" if open_low else "at least"
        raise FunnelError(f"{name} must be a number {bound} {low:g} and at most {high:g}; got {x}")
    return x


def _check_array(name: str, values, *, whole: bool, positive: bool) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise FunnelError(f"{name} must be numbers; got {reprlib.repr(values)}") from None
    if arr.size == 0 or arr.size > MAX_UNITS:
        raise FunnelError(f"{name} must hold 1 to {MAX_UNITS:,} values; got {arr.size:,}")
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0)
    if whole:
        bad |= arr != np.round(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rule = "whole numbers" if whole else "numbers"
        rule += " above 0" if positive else " of 0 or more"
        raise FunnelError(f"{name} must be {rule}; item {i + 1} is {_value_at(values, i)!r}")
    return arr


def _value_at(values, i: int):
    """The i-th input value as the user gave it (for error messages)."""
    return np.asarray(values, dtype=object).ravel()[i]


def check_target(kind: str, target: float) -> float:
    """The target as a float, checked for its kind: 0 < p0 < 1, or theta0 > 0."""
    _check_choice("kind", kind, KINDS)
    high = 1.0 if kind == "proportion" else 1e12
    x = _check_number("target", target, 0.0, high)
    if kind == "proportion" and x >= 1:
        raise FunnelError(f"a target proportion must be above 0 and below 1; got {x}")
    return x


def level_label(level: float) -> str:
    """'95%' for 0.95, '99.8%' for 0.998."""
    return f"{level * 100:g}%"


def z_for_level(level: float) -> float:
    """Two-sided normal multiplier: 1.96 for 95%, 3.09 for 99.8% [V brief §4, to 2 dp]."""
    return float(dd.norm_ppf(0.5 + level / 2))


# --------------------------------------------------------------------------------------------
# Limits at given denominators
# --------------------------------------------------------------------------------------------
def standard_error(kind: str, target: float, denominator) -> np.ndarray:
    """s under the target: sqrt(p0(1 - p0)/n) for proportions, sqrt(theta0/n) otherwise."""
    n = np.asarray(denominator, dtype=float)
    if kind == "proportion":
        return np.sqrt(target * (1 - target) / n)
    return np.sqrt(target / n)


def _clip(kind: str, values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0.0, 1.0 if kind == "proportion" else np.inf)


def exact_limit(kind: str, target: float, denominator, prob: float) -> np.ndarray:
    """Spiegelhalter's interpolated ``prob``-quantile of count/n when the target is true.

    For proportions the count is Binomial(n, p0) (n must be whole); for ratios and rates it is
    Poisson(theta0 * n). With r the smallest count whose cumulative probability F(r) reaches
    ``prob``, alpha = (F(r) - prob) / (F(r) - F(r - 1)) and the limit is (r - alpha) / n.
    """
    target = check_target(kind, target)
    n = np.asarray(denominator, dtype=float)
    if kind == "proportion":
        r = dd.binom_ppf(prob, n, target)
        f_r, f_before = dd.binom_cdf(r, n, target), dd.binom_cdf(r - 1, n, target)
    else:
        r = dd.poisson_ppf(prob, target * n)
        f_r, f_before = dd.poisson_cdf(r, target * n), dd.poisson_cdf(r - 1, target * n)
    alpha = np.clip((f_r - prob) / (f_r - f_before), 0.0, 1.0)
    return _clip(kind, (r - alpha) / n)


def normal_limit(
    kind: str, target: float, denominator, prob: float, phi: float = 1.0, tau2: float = 0.0
) -> np.ndarray:
    """target + z * sqrt(phi * s^2 + tau2), with z the normal ``prob``-quantile (signed).

    ``phi`` (multiplicative) is used only when above 1; ``tau2`` is the additive between-unit
    variance. Clipped at 0 (and 1 for proportions).
    """
    s = standard_error(kind, target, denominator)
    spread = np.sqrt(max(phi, 1.0) * s**2 + tau2)
    return _clip(kind, target + dd.norm_ppf(prob) * spread)


def limits_at(
    kind: str,
    target: float,
    denominator,
    level: float,
    method: str = "exact",
    phi: float = 1.0,
    tau2: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) two-sided limits at ``level`` on the count/n scale (before ``per``)."""
    _check_choice("method", method, METHODS)
    lo, hi = (1 - level) / 2, (1 + level) / 2
    if method == "exact":
        return exact_limit(kind, target, denominator, lo), exact_limit(
            kind, target, denominator, hi
        )
    return (
        normal_limit(kind, target, denominator, lo, phi, tau2),
        normal_limit(kind, target, denominator, hi, phi, tau2),
    )


# --------------------------------------------------------------------------------------------
# Overdispersion
# --------------------------------------------------------------------------------------------
def winsorise(z, fraction: float = DEFAULT_WINSORISE) -> np.ndarray:
    """Pull the lowest and highest ``fraction`` of values in to the fraction's percentiles."""
    fraction = _check_number("winsorise_by", fraction, 0.0, 0.49, open_low=False)
    z = np.asarray(z, dtype=float)
    if fraction == 0:
        return z.copy()
    low, high = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, low, high)


def dispersion_phi(z, winsorise_by: float = DEFAULT_WINSORISE) -> float:
    """phi = (1/I) * sum of squared z-scores after winsorising (Spiegelhalter 2005, §3.4)."""
    z = np.asarray(z, dtype=float)
    if z.size < 2:
        raise FunnelError(f"overdispersion needs at least 2 units; got {z.size}")
    return float(np.mean(winsorise(z, winsorise_by) ** 2))


def tau_squared(phi: float, se) -> float:
    """Additive between-unit variance tau^2 (DerSimonian-Laird style) [U: exact form unverified].

    tau^2 = (I * phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w)), with w = 1 / s^2 and I units,
    floored at 0; and 0 whenever phi <= 1 (no overdispersion, so nothing to add).
    """
    w = 1 / np.asarray(se, dtype=float) ** 2
    n_units = w.size
    if n_units < 2:
        raise FunnelError(f"tau2 needs at least 2 units; got {n_units}")
    if phi <= 1:
        return 0.0
    tau2 = (n_units * phi - (n_units - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return float(max(tau2, 0.0))


# --------------------------------------------------------------------------------------------
# Tidy outputs for charts
# --------------------------------------------------------------------------------------------
def denominator_grid(
    low: float, high: float, n_points: int = DEFAULT_GRID_POINTS, whole: bool = False
) -> np.ndarray:
    """Denominators spaced evenly on a log scale from ``low`` to ``high`` (whole if asked)."""
    low = _check_number("the smallest denominator", low, 0.0, 1e12)
    high = _check_number("the largest denominator", high, 0.0, 1e12)
    if high < low:
        raise FunnelError(f"the largest denominator ({high:g}) is below the smallest ({low:g})")
    if not 2 <= int(n_points) <= MAX_GRID_POINTS:
        raise FunnelError(f"n_points must be 2 to {MAX_GRID_POINTS:,}; got {n_points}")
    grid = np.geomspace(low, high, int(n_points))
    if whole:
        grid = np.unique(np.maximum(np.round(grid), 1.0))
    return grid


def _curve_specs(method_list, phi, tau2) -> list[tuple[str, str, float, float]]:
    specs = [(m, "none", 1.0, 0.0) for m in method_list]
    if phi is not None and phi > 1:
        specs.append(("normal", "multiplicative", float(phi), 0.0))
    if tau2 is not None and tau2 > 0:
        specs.append(("normal", "additive", 1.0, float(tau2)))
    return specs


def limit_curves(
    kind: str,
    target: float,
    denominators,
    *,
    per: float = 1.0,
    methods: Sequence[str] = METHODS,
    levels: Sequence[float] = LEVELS,
    phi: float | None = None,
    tau2: float | None = None,
) -> pd.DataFrame:
    """Limit curves as a tidy table, one row per denominator, limit and method.

    Columns: denominator, limit ("95% lower", "99.8% upper", ...), level, side, method ("exact"
    or "normal"), adjustment ("none", "multiplicative phi", "additive tau2"), value (times
    ``per``). Adjusted curves are added when ``phi`` > 1 or ``tau2`` > 0 is given; they are always
    on the normal approximation.
    """
    target = check_target(kind, target)
    per = _check_number("per", per, 0.0, MAX_PER)
    for m in methods:
        _check_choice("method", m, METHODS)
    n = _check_array("denominators", denominators, whole=kind == "proportion", positive=True)
    frames = []
    for method, adjustment, ph, t2 in _curve_specs(methods, phi, tau2):
        for level in levels:
            _check_number("level", level, 0.0, 0.9999)
            bounds = limits_at(kind, target, n, level, method, ph, t2)
            for side, values in zip(("lower", "upper"), bounds, strict=True):
                frames.append(
                    pd.DataFrame(
                        {
                            "denominator": n,
                            "limit": f"{level_label(level)} {side}",
                            "level": level_label(level),
                            "side": side,
                            "method": method,
                            "adjustment": ADJUSTMENT_LABELS[adjustment],
                            "value": values * per,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def flag_units(value, lower_95, upper_95, lower_998, upper_998) -> np.ndarray:
    """Plain-English flags; a value must be strictly beyond a limit to be flagged."""
    value = np.asarray(value, dtype=float)
    return np.select(
        [value > upper_998, value > upper_95, value < lower_998, value < lower_95],
        [FLAG_ABOVE_ALARM, FLAG_ABOVE_ALERT, FLAG_BELOW_ALARM, FLAG_BELOW_ALERT],
        default=FLAG_WITHIN,
    )


def default_target(kind: str, numerator: np.ndarray, denominator: np.ndarray) -> float:
    """The pooled value: sum of events over sum of denominators (1 for O/E ratios)."""
    if kind == "ratio":
        return RATIO_TARGET
    total = float(numerator.sum() / denominator.sum())
    if total <= 0 or (kind == "proportion" and total >= 1):
        raise FunnelError(
            "the pooled value is 0 (or 100%), so no funnel can be drawn around it; "
            f"got {numerator.sum():g} events in {denominator.sum():g}"
        )
    return total


# --------------------------------------------------------------------------------------------
# The whole funnel
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Funnel:
    """A funnel plot ready to draw: units, limit curves and the overdispersion summary.

    ``target`` is on the display scale (times ``per``); ``phi`` is the winsorised dispersion
    ratio; ``tau2`` is the additive variance on the count/n scale (multiply by per^2 to show it);
    ``limits_used`` says which limits the flags rest on; ``note`` explains it in words.
    """

    kind: str
    target: float
    per: float
    phi: float | None
    tau2: float | None
    limits_used: str
    note: str
    units: pd.DataFrame
    limits: pd.DataFrame


def _unit_inputs(kind, numerator, denominator, units):
    y = _check_array("numerator", numerator, whole=True, positive=False)
    n = _check_array("denominator", denominator, whole=kind == "proportion", positive=True)
    if y.size != n.size:
        raise FunnelError(f"numerator has {y.size} values but denominator has {n.size}")
    if kind == "proportion" and (y > n).any():
        i = int(np.flatnonzero(y > n)[0])
        raise FunnelError(f"events cannot exceed trials; item {i + 1} has {y[i]:g} of {n[i]:g}")
    names = np.arange(1, y.size + 1) if units is None else np.asarray(units, dtype=object)
    if names.size != y.size:
        raise FunnelError(f"units has {names.size} names but there are {y.size} values")
    return y, n, names


def _overdispersion(kind, theta, y, n, winsorise_by) -> tuple[float | None, float | None]:
    """phi and tau2 from the units (None for a single unit)."""
    if y.size < 2:
        return None, None
    s = standard_error(kind, theta, n)
    phi = dispersion_phi((y / n - theta) / s, winsorise_by)
    return phi, tau_squared(phi, s)


def _describe(method, adjustment, phi, tau2) -> tuple[str, str, float, float]:
    """Which limits the flags use, in words, and the phi and tau2 to apply."""
    if adjustment == "multiplicative" and phi is not None and phi > 1:
        return "normal", f"normal, widened by sqrt(phi), phi = {phi:.2f}", phi, 0.0
    if adjustment == "additive" and tau2 is not None and tau2 > 0:
        return "normal", f"normal plus additive tau2 = {tau2:.3g}", 1.0, tau2
    if adjustment != "none":
        why = "phi <= 1" if adjustment == "multiplicative" else "tau2 = 0"
        return method, f"{method} (no overdispersion found: {why}, so not widened)", 1.0, 0.0
    return method, method, 1.0, 0.0


def _unit_table(kind, theta, y, n, names, per, used, phi, tau2) -> pd.DataFrame:
    """One row per unit: value, limits at its own denominator, z-scores and flag."""
    s = standard_error(kind, theta, n)
    table = pd.DataFrame({"unit": names, "numerator": y.astype(np.int64), "denominator": n})
    table["expected"] = theta * n
    table["value"] = y / n * per
    table["target"] = theta * per
    table["z"] = (y / n - theta) / s
    table["z_adjusted"] = (y / n - theta) / np.sqrt(max(phi, 1.0) * s**2 + tau2)
    raw = {}
    for level, tag in ((ALERT_LEVEL, "95"), (ALARM_LEVEL, "99_8")):
        raw[f"lower_{tag}"], raw[f"upper_{tag}"] = limits_at(kind, theta, n, level, used, phi, tau2)
    for column, values in raw.items():
        table[column] = values * per
    table["flag"] = flag_units(
        y / n,
        *(raw[c] for c in ("lower_95", "upper_95")),
        *(raw[c] for c in ("lower_99_8", "upper_99_8")),
    )
    return table


def _display_target(kind: str, target, per: float) -> float:
    """The target given on the display scale, checked and brought back to count/n."""
    x = _check_number("target", target, 0.0, 1e12)
    if kind == "proportion" and x >= per:
        raise FunnelError(
            f"a target proportion must be above 0 and below {per:g} (the value of per); got {x:g}"
        )
    return check_target(kind, x / per)


def funnel(
    kind: str,
    numerator,
    denominator,
    *,
    units=None,
    target: float | None = None,
    per: float = 1.0,
    method: str = "exact",
    adjustment: str = "none",
    winsorise_by: float = DEFAULT_WINSORISE,
    grid_points: int = DEFAULT_GRID_POINTS,
) -> Funnel:
    """Assess every unit against its funnel limits and build the limit curves.

    Parameters
    ----------
    kind : "proportion", "ratio" or "rate".
    numerator : events (errors, observed referrals, incidents), whole numbers >= 0.
    denominator : trials (whole numbers), expected counts, or exposure (consultations); all > 0.
    units : names for the rows (default 1, 2, ...).
    target : the centre line on the display scale (times ``per``), e.g. 16 for 16 per 100,000
        with ``per=100_000``; default the pooled value (1 for ratios, i.e. ``per``).
    per : display multiplier, e.g. 100 for per cent or 100_000 for per 100,000 consultations.
    method : "exact" (Spiegelhalter's interpolated limits) or "normal".
    adjustment : "none", "multiplicative" (sqrt(phi), only if phi > 1) or "additive" (tau2).
    winsorise_by : share of z-scores winsorised at each end before phi is worked out.
    grid_points : points along each limit curve (at most ``MAX_GRID_POINTS``).

    Returns
    -------
    Funnel, whose ``units`` table has one row per unit: unit, numerator, denominator, expected,
    value, target, z, z_adjusted, lower_95, upper_95, lower_99_8, upper_99_8, flag; and whose
    ``limits`` table is ``limit_curves`` over a grid spanning the units' denominators.
    """
    _check_choice("kind", kind, KINDS)
    _check_choice("method", method, METHODS)
    _check_choice("adjustment", adjustment, ADJUSTMENTS)
    per = _check_number("per", per, 0.0, MAX_PER)
    y, n, names = _unit_inputs(kind, numerator, denominator, units)
    theta = default_target(kind, y, n) if target is None else _display_target(kind, target, per)
    phi, tau2 = _overdispersion(kind, theta, y, n, winsorise_by)
    used, words, ph, t2 = _describe(method, adjustment, phi, tau2)
    table = _unit_table(kind, theta, y, n, names, per, used, ph, t2)
    grid = denominator_grid(n.min() * 0.8, n.max() * 1.25, grid_points, kind == "proportion")
    curves = limit_curves(kind, theta, grid, per=per, phi=ph, tau2=t2)
    return Funnel(kind, theta * per, per, phi, tau2, used, words, table, curves)


def simulate_null(kind: str, target: float, denominator, rng) -> np.ndarray:
    """Counts drawn as if every unit's true value were the target (for checks and teaching).

    ``rng`` is a ``numpy.random.Generator`` or an int seed.
    """
    target = check_target(kind, target)
    n = _check_array("denominator", denominator, whole=kind == "proportion", positive=True)
    rng = np.random.default_rng(rng)
    if kind == "proportion":
        return rng.binomial(n.astype(np.int64), target)
    return rng.poisson(target * n)
