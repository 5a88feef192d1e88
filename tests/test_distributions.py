"""pbc_lib.models.distributions gives exactly what scipy.stats gives, without importing it.

Every function is compared with the scipy.stats call it replaces, for exact equality (NaN equal
to NaN, and the same sign of zero): over grids that include the edge cases (q = 0 and q = 1,
NaN, q outside [0, 1], invalid parameters, zero trials and zero means, scalars and arrays), at
the exact cumulative-probability boundaries of the count distributions and one step either side,
and with hypothesis property tests. A fresh interpreter that imports every app, content and
exercise module must not load scipy.stats or scipy.optimize (about 60 MiB of kernel memory).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pbc_lib.models import distributions as dd


def assert_identical(mine, theirs) -> None:
    """Same shape, scalar-ness and values (NaN == NaN, and -0.0 is not 0.0)."""
    mine_arr, theirs_arr = np.asarray(mine), np.asarray(theirs)
    assert np.ndim(mine) == np.ndim(theirs)
    assert mine_arr.shape == theirs_arr.shape
    assert mine_arr.dtype == theirs_arr.dtype == np.float64
    assert np.array_equal(mine_arr, theirs_arr, equal_nan=True), (mine, theirs)
    assert np.array_equal(np.signbit(mine_arr), np.signbit(theirs_arr))


# Probabilities: the ends, NaN, outside [0, 1], tiny, the usual tails and 1 - tiny.
Q_GRID = np.array(
    [0.0, 1.0, np.nan, -0.1, 1.1, -np.inf, np.inf, 5e-324, 1e-300, 1e-12, 1e-6, 0.001]
    + [0.0025, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.975, 0.999, 0.9999]
    + [1 - 1e-12, 1 - 2**-53, np.nextafter(1.0, 0.0)]
)


def _mesh(*axes: np.ndarray) -> list[np.ndarray]:
    return [a.ravel() for a in np.meshgrid(*axes, indexing="ij")]


def _quiet(call, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call(*args)


# --------------------------------------------------------------------------------------------
# Hand-checked values (these fail if both implementations went wrong the same way)
# --------------------------------------------------------------------------------------------
def test_known_values():
    assert float(dd.norm_ppf(0.975)) == pytest.approx(1.959963984540054, rel=1e-15)
    assert float(dd.norm_cdf(1.959963984540054)) == pytest.approx(0.975, rel=1e-15)
    # chi-square with 2 df is exponential with mean 2: ppf(q) = -2 ln(1 - q).
    assert float(dd.chi2_ppf(0.9, 2)) == pytest.approx(-2 * np.log(0.1), rel=1e-14)
    # Beta(1, 1) is uniform; Beta(2, 1) has cdf x^2.
    assert float(dd.beta_ppf(0.3, 1, 1)) == pytest.approx(0.3, rel=1e-14)
    assert float(dd.beta_ppf(0.25, 2, 1)) == pytest.approx(0.5, rel=1e-14)
    # Binomial(100, 0.05): F(0) = 0.95^100 = 0.0059205, F(1) = 0.0370812 (test_funnel works it).
    assert float(dd.binom_cdf(1, 100, 0.05)) == pytest.approx(0.0370812, abs=1e-7)
    assert float(dd.binom_ppf(0.025, 100, 0.05)) == 1.0
    assert float(dd.binom_ppf(0.005, 100, 0.05)) == 0.0
    # Poisson(2): F(0) = e^-2 = 0.135335, F(1) = 3e^-2 = 0.406006, F(2) = 5e^-2 = 0.676676.
    assert float(dd.poisson_cdf(2, 2.0)) == pytest.approx(5 * np.exp(-2), rel=1e-14)
    assert [float(dd.poisson_ppf(q, 2.0)) for q in (0.1, 0.2, 0.5, 0.6, 0.7)] == [0, 1, 2, 2, 3]
    # Ends: a count quantile at q = 0 is -1, at q = 1 the top of the support.
    assert float(dd.binom_ppf(0.0, 10, 0.3)) == -1.0
    assert float(dd.binom_ppf(1.0, 10, 0.3)) == 10.0
    assert float(dd.poisson_ppf(1.0, 3.0)) == np.inf
    # Spearman: a monotone relation is 1 whatever its shape; a reversal is -1.
    assert float(dd.spearman_rho([1, 2, 3, 4], [1, 8, 27, 1000])) == 1.0
    assert float(dd.spearman_rho([1, 2, 3, 4], [4, 3, 2, 1])) == -1.0
    # Ties share the average rank: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4) give 0.9487.
    assert float(dd.spearman_rho([1, 2, 2, 3], [1, 2, 3, 4])) == pytest.approx(
        4.5 / np.sqrt(4.5 * 5), rel=1e-14
    )


# --------------------------------------------------------------------------------------------
# Continuous distributions: grids
# --------------------------------------------------------------------------------------------
def test_norm_matches_scipy_on_a_grid():
    assert_identical(dd.norm_ppf(Q_GRID), stats.norm.ppf(Q_GRID))
    x = np.r_[-np.inf, -40.0, -8.5, -1.96, -0.0, 0.0, 1e-300, 0.5, 1.96, 8.5, 40.0, np.inf, np.nan]
    assert_identical(dd.norm_cdf(x), stats.norm.cdf(x))
    for q in Q_GRID:
        assert_identical(dd.norm_ppf(q), stats.norm.ppf(q))
    for v in x:
        assert_identical(dd.norm_cdf(v), stats.norm.cdf(v))
    grid = np.linspace(0, 1, 20_001)
    assert_identical(dd.norm_ppf(grid), stats.norm.ppf(grid))
    assert_identical(
        dd.norm_cdf(np.linspace(-10, 10, 20_001)), stats.norm.cdf(np.linspace(-10, 10, 20_001))
    )
    assert_identical(dd.norm_ppf(grid.reshape(3, -1, 1)), stats.norm.ppf(grid.reshape(3, -1, 1)))


def test_chi2_matches_scipy_on_a_grid():
    df = np.array([np.nan, -1.0, 0.0, 1e-3, 0.5, 1.0, 2.0, 3.0, 7.5, 20.0, 33.0, 1e3, 2e5, 1e7])
    q, k = _mesh(Q_GRID, df)
    assert_identical(_quiet(dd.chi2_ppf, q, k), _quiet(stats.chi2.ppf, q, k))
    # As safety.rate_interval calls it: scalars, 2 * count and 2 * count + 2 degrees of freedom.
    for count in (1, 2, 5, 16, 100, 12_345, 10_000_000):
        for tail in (0.00005, 0.005, 0.025, 0.05, 0.245):
            for q_, df_ in ((tail, 2 * count), (1 - tail, 2 * count + 2)):
                assert_identical(dd.chi2_ppf(q_, df_), stats.chi2.ppf(q_, df_))


def test_beta_matches_scipy_on_a_grid():
    shape = np.array([np.nan, -1.0, 0.0, 1e-4, 0.01, 0.3, 1.0, 2.5, 12.0, 80.0, 1e3, 1e5])
    q, a, b = _mesh(Q_GRID, shape, shape)
    assert_identical(_quiet(dd.beta_ppf, q, a, b), _quiet(stats.beta.ppf, q, a, b))


def test_beta_as_the_audit_planner_and_screening_call_it():
    # safety.half_widths: Clopper-Pearson ends at a fractional count x = p * n.
    n = np.arange(1, 3_001, dtype=float)
    for p in (0.001, 0.049, 0.11, 0.5, 0.9):
        for tail in (0.00005, 0.025, 0.05):
            x = p * n
            assert_identical(
                dd.beta_ppf(1 - tail, x + 1, n - x), stats.beta.ppf(1 - tail, x + 1, n - x)
            )
            assert_identical(dd.beta_ppf(tail, x, n - x + 1), stats.beta.ppf(tail, x, n - x + 1))
    # safety._draw_practices: beta quantiles of normal probabilities; completeness 0 or 1 gives a
    # zero shape, which scipy (and this) turn into NaN.
    v = np.random.default_rng(4).standard_normal(20_000) * 3
    for completeness in (0.0, 0.01, 0.125, 0.5, 0.99, 1.0):
        for c in (0.5, 4.0, 40.0):
            a, b = completeness * c, (1 - completeness) * c
            mine = _quiet(dd.beta_ppf, dd.norm_cdf(v), a, b)
            assert_identical(mine, _quiet(stats.beta.ppf, stats.norm.cdf(v), a, b))


# --------------------------------------------------------------------------------------------
# Count distributions: grids, the exact cdf boundaries, and the callers' shapes
# --------------------------------------------------------------------------------------------
P_GRID = np.array(
    [np.nan, -0.1, 0.0, 5e-324, 1e-12, 1e-6, 0.001, 0.049, 0.3, 0.5, 0.7, 0.95, 1 - 1e-9]
    + [np.nextafter(1.0, 0.0), 1.0, 1.1]
)
N_GRID = np.r_[np.nan, -1.0, 2.5, np.arange(0.0, 41.0), 99.0, 100.0, 1_000.0, 4_999.0, 1e6]


def test_binomial_matches_scipy_on_a_grid():
    q, n, p = _mesh(Q_GRID, N_GRID, P_GRID)
    assert_identical(_quiet(dd.binom_ppf, q, n, p), _quiet(stats.binom.ppf, q, n, p))
    k_grid = np.array([-np.inf, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.7, 10.0, 39.0, 40.0])
    k_grid = np.r_[k_grid, 41.0, 99.0, 100.0, 500.0, 1e6, np.inf, np.nan]
    k, n, p = _mesh(k_grid, N_GRID, P_GRID)
    assert_identical(_quiet(dd.binom_cdf, k, n, p), _quiet(stats.binom.cdf, k, n, p))


def test_poisson_matches_scipy_on_a_grid():
    mu_grid = np.array(
        [np.nan, -1.0, 0.0, 5e-324, 1e-300, 1e-12, 1e-4, 0.05, 0.5, 1.0, 2.0, 7.3, 30.0, 410.0]
        + [1e4, 1e6, 1e9]
    )
    q, mu = _mesh(Q_GRID, mu_grid)
    assert_identical(_quiet(dd.poisson_ppf, q, mu), _quiet(stats.poisson.ppf, q, mu))
    k_grid = np.r_[-np.inf, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 7.0, 30.0, 1e4, 1e9, np.inf, np.nan]
    k, mu = _mesh(k_grid, mu_grid)
    assert_identical(_quiet(dd.poisson_cdf, k, mu), _quiet(stats.poisson.cdf, k, mu))


def _boundaries(cdf_values: np.ndarray) -> np.ndarray:
    """Each cumulative probability exactly, and the next float below and above it."""
    return np.stack(
        [cdf_values, np.nextafter(cdf_values, 0.0), np.nextafter(cdf_values, 1.0)]
    ).ravel()


def test_binomial_quantile_at_the_exact_cdf_boundaries():
    # q = F(k) exactly is where "smallest k with F(k) >= q" is decided by the last bit.
    for n in [*range(0, 61), 99, 100, 250, 1_000, 4_999]:
        k = np.arange(0, n + 1, dtype=float)
        for p in (1e-9, 0.003, 0.049, 0.05, 0.1, 0.25, 0.5, 0.75, 0.95, 0.999):
            q = _boundaries(stats.binom.cdf(k, n, p))
            mine = _quiet(dd.binom_ppf, q, n, p)
            assert_identical(mine, _quiet(stats.binom.ppf, q, n, p))
            assert_identical(dd.binom_cdf(mine, n, p), stats.binom.cdf(mine, n, p))


def test_poisson_quantile_at_the_exact_cdf_boundaries():
    for mu in (1e-9, 1e-3, 0.05, 0.3, 1.0, 2.0, 2.5, 7.3, 16.0, 48.0, 100.0, 730.0, 5_000.0):
        k = np.arange(0, int(mu + 12 * np.sqrt(mu) + 15), dtype=float)
        q = _boundaries(stats.poisson.cdf(k, mu))
        mine = _quiet(dd.poisson_ppf, q, mu)
        assert_identical(mine, _quiet(stats.poisson.ppf, q, mu))
        assert_identical(dd.poisson_cdf(mine, mu), stats.poisson.cdf(mine, mu))


def test_count_quantiles_are_the_smallest_count_reaching_q():
    # The documented meaning, checked on its own (and not only through scipy): F(k) >= q > F(k-1).
    rng = np.random.default_rng(11)
    q = rng.random(5_000)
    mu = rng.choice([0.2, 3.0, 40.0, 900.0], q.size)
    k = dd.poisson_ppf(q, mu)
    assert (dd.poisson_cdf(k, mu) >= q).all()
    assert (dd.poisson_cdf(k - 1, mu) < q).all()
    n = rng.choice([1.0, 7.0, 100.0, 3_000.0], q.size)
    p = rng.choice([0.01, 0.3, 0.8], q.size)
    k = dd.binom_ppf(q, n, p)
    assert (dd.binom_cdf(k, n, p) >= q).all()
    assert (dd.binom_cdf(k - 1, n, p) < q).all()


def test_count_functions_as_the_funnel_calls_them():
    # funnel.exact_limit: one probability, an array of denominators, one target.
    n = np.r_[0.0, 1.0, 2.0, np.arange(5.0, 5_000.0, 7.0), 1e5]
    for prob in (0.0, 0.001, 0.025, 0.5, 0.975, 0.999, 1.0):
        for target in (1e-6, 0.01, 0.049, 0.5, 0.999999):
            dist = stats.binom(n, target)
            r = _quiet(dd.binom_ppf, prob, n, target)
            assert_identical(r, _quiet(dist.ppf, prob))
            assert_identical(dd.binom_cdf(r, n, target), dist.cdf(r))
            assert_identical(dd.binom_cdf(r - 1, n, target), dist.cdf(r - 1))
        for theta in (1e-4, 0.2, 1.0, 3.7):
            dist = stats.poisson(theta * n)
            r = dd.poisson_ppf(prob, theta * n)
            assert_identical(r, dist.ppf(prob))
            assert_identical(dd.poisson_cdf(r, theta * n), dist.cdf(r))
            assert_identical(dd.poisson_cdf(r - 1, theta * n), dist.cdf(r - 1))


def test_poisson_as_the_waiting_list_and_safety_call_it():
    # waiting_list._draw: a (runs, weeks) grid of uniforms clipped to [1e-12, 1 - 1e-12], means
    # that include 0 (a week with no referrals) and the clip values themselves.
    rng = np.random.default_rng(5)
    uniforms = np.clip(rng.random((200, 104)), 1e-12, 1 - 1e-12)
    uniforms[0, :3] = [1e-12, 1 - 1e-12, 0.5]
    level = rng.choice([0.0, 0.0, 1e-9, 3.0, 100.0, 2_500.0], (1, 104)) * rng.gamma(
        4, 0.25, (200, 104)
    )
    assert_identical(dd.poisson_ppf(uniforms, level), stats.poisson.ppf(uniforms, level))
    # safety.poisson_range: scalars and arrays of means, including 0.
    for mean in (0.0, 1e-9, 0.5, 3.0, 40.0, 1e4, 1e7):
        for tail in (0.00005, 0.005, 0.025, 0.245):
            for q in (tail, 1 - tail):
                assert_identical(dd.poisson_ppf(q, mean), stats.poisson.ppf(q, mean))
    means = np.r_[0.0, rng.random(1_000) * 200]
    assert_identical(dd.poisson_ppf(0.025, means), stats.poisson.ppf(0.025, means))


def test_scalars_stay_scalars_and_arrays_broadcast():
    assert isinstance(dd.poisson_ppf(0.5, 3.0), np.float64)
    assert isinstance(dd.binom_cdf(2, 10, 0.5), np.float64)
    assert isinstance(dd.norm_ppf(0.5), np.float64)
    assert float(dd.norm_ppf(0.5)) == 0.0 and not np.signbit(dd.norm_ppf(0.5))
    assert dd.binom_ppf([0.1, 0.9], [[10.0], [20.0], [30.0]], 0.5).shape == (3, 2)
    assert_identical(
        dd.binom_ppf([0.1, 0.9], [[10.0], [20.0], [30.0]], 0.5),
        stats.binom.ppf([0.1, 0.9], [[10.0], [20.0], [30.0]], 0.5),
    )
    assert_identical(
        dd.poisson_cdf([[1], [2]], [0.5, 5.0]), stats.poisson.cdf([[1], [2]], [0.5, 5.0])
    )
    assert dd.poisson_ppf(np.empty(0), 2.0).shape == (0,)


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------
probabilities = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 1.0, 1e-12, 1 - 1e-12, 0.025, 0.975]),
)


@settings(max_examples=400)
@given(q=probabilities, n=st.integers(0, 20_000), p=st.floats(0.0, 1.0))
def test_binomial_property(q, n, p):
    assert_identical(_quiet(dd.binom_ppf, q, n, p), _quiet(stats.binom.ppf, q, n, p))
    k = _quiet(stats.binom.ppf, q, n, p)
    for kk in (k - 1, k, k + 1, q * n):
        assert_identical(_quiet(dd.binom_cdf, kk, n, p), _quiet(stats.binom.cdf, kk, n, p))
    # At F(k) exactly, for the count nearest q * n.
    edge = stats.binom.cdf(np.floor(q * n), n, p)
    assert_identical(_quiet(dd.binom_ppf, edge, n, p), _quiet(stats.binom.ppf, edge, n, p))


@settings(max_examples=400)
@given(q=probabilities, mu=st.floats(0.0, 1e6))
def test_poisson_property(q, mu):
    assert_identical(_quiet(dd.poisson_ppf, q, mu), _quiet(stats.poisson.ppf, q, mu))
    k = _quiet(stats.poisson.ppf, q, mu)
    for kk in (k - 1, k, k + 1, mu):
        assert_identical(_quiet(dd.poisson_cdf, kk, mu), _quiet(stats.poisson.cdf, kk, mu))
    edge = stats.poisson.cdf(np.floor(mu), mu)
    assert_identical(_quiet(dd.poisson_ppf, edge, mu), _quiet(stats.poisson.ppf, edge, mu))


@settings(max_examples=400)
@given(q=probabilities, x=st.floats(allow_nan=True, allow_infinity=True))
def test_normal_property(q, x):
    assert_identical(dd.norm_ppf(q), stats.norm.ppf(q))
    assert_identical(dd.norm_cdf(x), stats.norm.cdf(x))


@settings(max_examples=400)
@given(q=probabilities, df=st.floats(1e-3, 1e7))
def test_chi2_property(q, df):
    assert_identical(_quiet(dd.chi2_ppf, q, df), _quiet(stats.chi2.ppf, q, df))


@settings(max_examples=400)
@given(q=probabilities, a=st.floats(1e-3, 1e5), b=st.floats(1e-3, 1e5))
def test_beta_property(q, a, b):
    assert_identical(_quiet(dd.beta_ppf, q, a, b), _quiet(stats.beta.ppf, q, a, b))


# --------------------------------------------------------------------------------------------
# Spearman rank correlation
# --------------------------------------------------------------------------------------------
def test_spearman_matches_scipy():
    rng = np.random.default_rng(8)
    for size in (2, 3, 10, 48, 1_000, 20_000):
        x = rng.lognormal(size=size)
        y = x * rng.lognormal(size=size)
        assert_identical(dd.spearman_rho(x, y), stats.spearmanr(x, y)[0])
        xi, yi = rng.integers(0, 5, size), rng.integers(0, 7, size)  # many ties
        if len(set(xi)) > 1 and len(set(yi)) > 1:
            assert_identical(dd.spearman_rho(xi, yi), stats.spearmanr(xi, yi)[0])
        assert_identical(dd.spearman_rho(list(x), yi), stats.spearmanr(list(x), yi)[0])
    x = rng.random(100)
    assert_identical(dd.spearman_rho(x, x), stats.spearmanr(x, x)[0])
    assert_identical(dd.spearman_rho(x, -x), stats.spearmanr(x, -x)[0])


def test_spearman_average_ranks_match_rankdata():
    rng = np.random.default_rng(9)
    for values in (rng.integers(0, 4, 50), rng.random(50), np.r_[3.0, 3.0, 3.0, 1.0, -2.0, 3.0]):
        assert np.array_equal(dd._average_ranks(values), stats.rankdata(values))


def test_spearman_undefined_cases_are_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x, y in (([1.0], [2.0]), ([], []), ([1, 1, 1], [1, 2, 3]), ([1, 2, 3], [5, 5, 5])):
            assert np.isnan(dd.spearman_rho(x, y))
            assert np.isnan(stats.spearmanr(x, y)[0])
        assert np.isnan(dd.spearman_rho([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]))
        assert np.isnan(stats.spearmanr([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])[0])
    with pytest.raises(ValueError, match="same length"):
        dd.spearman_rho([1, 2, 3], [1, 2])


@settings(max_examples=200)
@given(
    pairs=st.lists(
        st.tuples(st.integers(-5, 5), st.floats(-1e6, 1e6, allow_subnormal=False)),
        min_size=2,
        max_size=60,
    )
)
def test_spearman_property(pairs):
    x, y = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_identical(dd.spearman_rho(x, y), stats.spearmanr(x, y)[0])


# --------------------------------------------------------------------------------------------
# The point of the module: a kernel never loads scipy.stats
# --------------------------------------------------------------------------------------------
IMPORT_EVERYTHING = """
import importlib, pkgutil, sys, traceback

importers = []


class Watch:
    def find_spec(self, name, path, target=None):
        if name in ("scipy.stats", "scipy.optimize") and not importers:
            stack = traceback.extract_stack()
            importers.extend(f"{f.filename}:{f.lineno}" for f in stack if "/pbc_lib/" in f.filename)
        return None


sys.meta_path.insert(0, Watch())
import pandas, altair, ipywidgets  # noqa: E401
names = []
for sub in ("apps", "content", "exercises"):
    package = importlib.import_module("pbc_lib." + sub)
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(len(names), "pbc_lib.apps.screening" in names, "pbc_lib.exercises.demand" in names)
print("scipy.stats" in sys.modules, "scipy.optimize" in sys.modules)
print(" <- ".join(reversed(importers)))
"""


def test_no_app_content_or_exercise_module_imports_scipy_stats():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    counts, loaded, importers = result.stdout.splitlines()
    assert counts.split()[1:] == ["True", "True"] and int(counts.split()[0]) >= 20, counts
    assert loaded == "False False", f"scipy.stats / scipy.optimize loaded; first by: {importers}"


def test_the_runtime_models_do_not_import_scipy_stats():
    code = (
        "import sys\n"
        "import pbc_lib.models.funnel, pbc_lib.models.safety, pbc_lib.models.waiting_list\n"
        "import pbc_lib.models.budget_risk, pbc_lib.models.distributions\n"
        "print('scipy.stats' in sys.modules, 'scipy.optimize' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
