"""The few distribution functions the runtime models need, without importing ``scipy.stats``.

Importing ``scipy.stats`` adds about 60 MiB to a Voila kernel (it also loads ``scipy.optimize``);
``scipy.special`` adds about 14 MiB. Each function here gives exactly the numbers that the
``scipy.stats`` call named in its docstring gives (scipy 1.17), because it calls the same
``scipy.special`` kernel that ``scipy.stats`` calls and copies the argument handling of
``rv_continuous.ppf``, ``rv_discrete.ppf`` and ``rv_discrete.cdf``:

- a probability ``q`` outside [0, 1], a NaN, or an invalid parameter gives NaN;
- ``q = 0`` gives the bottom of the support (minus 1 for a count: -1), ``q = 1`` the top
  (``n`` for a binomial count, infinity for a Poisson count or a chi-square value);
- a count distribution's quantile is the smallest count k whose cumulative probability reaches
  ``q``; its cumulative probability is 0 below 0 and 1 at and above the top of the support.

Numbers and arrays may be mixed and are broadcast together; a 0-d result comes back as a numpy
float, as ``scipy.stats`` returns it. ``tests/test_distributions.py`` checks every function
against ``scipy.stats`` for exact equality over grids, at the cumulative-probability boundaries
and with random (hypothesis) inputs.

The binomial and beta functions call the private ``scipy.special._ufuncs`` kernels
``_binom_cdf``, ``_binom_ppf`` and ``_beta_ppf`` (Boost.Math), which is what ``scipy.stats.binom``
and ``scipy.stats.beta`` call. The public ``bdtr`` and ``betaincinv`` are different code: ``bdtr``
differs from ``scipy.stats.binom.cdf`` in the last few digits for most inputs (up to 1e-11 seen)
and ``betaincinv`` from ``scipy.stats.beta.ppf`` for very small ``q``, so they would move the
funnel limits. If a later scipy renames those kernels, the import below fails loudly.

Sources: scipy 1.17 ``scipy/stats/_distn_infrastructure.py`` (the argument handling),
``_continuous_distns.py`` and ``_discrete_distns.py`` (norm, chi2, beta, binom, poisson) and
``_stats_py.py`` (``spearmanr``, ``rankdata``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import gammaincinv, ndtr, ndtri, pdtr, pdtrik
from scipy.special._ufuncs import _beta_ppf, _binom_cdf, _binom_ppf

__all__ = [
    "beta_ppf",
    "binom_cdf",
    "binom_ppf",
    "chi2_ppf",
    "norm_cdf",
    "norm_ppf",
    "poisson_cdf",
    "poisson_ppf",
    "spearman_rho",
]


# --------------------------------------------------------------------------------------------
# Argument handling shared by the quantile and cumulative functions
# --------------------------------------------------------------------------------------------
def _arrays(first, params) -> list[np.ndarray]:
    """``first`` and the parameters as float arrays broadcast to one shape."""
    return list(np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (first, *params))))


def _result(out: np.ndarray):
    """A numpy float for a 0-d result, else the array (as ``scipy.stats`` returns them)."""
    return out[()] if out.ndim == 0 else out


def _quantile(
    core: Callable[..., np.ndarray],
    q,
    params: tuple,
    valid: Callable[..., np.ndarray],
    bottom: Callable[..., np.ndarray],
    top: Callable[..., np.ndarray],
):
    """``core(q, *params)`` where 0 < q < 1 and the parameters are valid; the ends and NaN.

    ``bottom`` and ``top`` give the values at q = 0 and q = 1 (they may depend on the
    parameters). ``+ 0.0`` copies scipy's ``+ loc`` (it turns -0.0 into 0.0).
    """
    q, *args = _arrays(q, params)
    ok = np.asarray(valid(*args), dtype=bool)
    inner = ok & (q > 0) & (q < 1)
    if inner.all():
        return _result(np.asarray(core(q, *args) + 0.0, dtype=float))
    out = np.full(q.shape, np.nan)
    for at, value in ((ok & (q == 0), bottom), (ok & (q == 1), top)):
        if at.any():
            out[at] = np.broadcast_to(value(*args), q.shape)[at]
    if inner.any():
        out[inner] = core(q[inner], *(a[inner] for a in args)) + 0.0
    return _result(out)


def _count_cdf(
    core: Callable[..., np.ndarray],
    k,
    params: tuple,
    valid: Callable[..., np.ndarray],
    top: Callable[..., np.ndarray],
):
    """P(K <= k) for a count K on 0, 1, ..., ``top``: ``core(floor(k), *params)`` inside it."""
    k, *args = _arrays(k, params)
    ok = np.asarray(valid(*args), dtype=bool)
    high = np.broadcast_to(top(*args), k.shape)
    inner = ok & (k >= 0) & (k < high) & np.isfinite(k)
    out = np.zeros(k.shape)
    out[k >= high] = 1.0
    out[~ok | np.isnan(k)] = np.nan
    if inner.all():
        return _result(np.clip(core(np.floor(k), *args), 0.0, 1.0))
    if inner.any():
        out[inner] = np.clip(core(np.floor(k[inner]), *(a[inner] for a in args)), 0.0, 1.0)
    return _result(out)


def _always(*args) -> bool:
    return True


def _constant(value: float) -> Callable[..., float]:
    return lambda *args: value


# --------------------------------------------------------------------------------------------
# Continuous distributions
# --------------------------------------------------------------------------------------------
def norm_ppf(q):
    """Standard normal quantile, ``scipy.stats.norm.ppf(q)``: ``scipy.special.ndtri``.

    Examples: 0.975 gives 1.959964 (the "1.96"), 0.5 gives 0, 0 gives -inf and 1 gives inf.
    """
    return _quantile(ndtri, q, (), _always, _constant(-np.inf), _constant(np.inf))


def norm_cdf(x):
    """Standard normal cumulative probability, ``scipy.stats.norm.cdf(x)``: ``ndtr``.

    NaN gives NaN; -inf gives 0 and inf gives 1.
    """
    return _result(np.asarray(ndtr(np.asarray(x, dtype=float))))


def chi2_ppf(q, df):
    """Chi-square quantile, ``scipy.stats.chi2.ppf(q, df)``: 2 * gammaincinv(df / 2, q).

    ``df`` must be above 0. (``scipy.special.chdtri(df, 1 - q)`` is not used: it works from the
    upper tail and can differ from scipy.stats in the last digit.)
    """
    return _quantile(
        lambda p, k: 2 * gammaincinv(k / 2, p),
        q,
        (df,),
        lambda k: k > 0,
        _constant(0.0),
        _constant(np.inf),
    )


def beta_ppf(q, a, b):
    """Beta(a, b) quantile, ``scipy.stats.beta.ppf(q, a, b)``; ``a`` and ``b`` must be above 0."""
    return _quantile(
        _beta_ppf, q, (a, b), lambda x, y: (x > 0) & (y > 0), _constant(0.0), _constant(1.0)
    )


# --------------------------------------------------------------------------------------------
# Counts: binomial and Poisson
# --------------------------------------------------------------------------------------------
def _binom_valid(n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A whole number of trials n >= 0 and a probability 0 <= p <= 1 (scipy's check)."""
    return (n >= 0) & (n == np.round(n)) & (p >= 0) & (p <= 1)


def binom_ppf(q, n, p):
    """Binomial(n, p) quantile, ``scipy.stats.binom.ppf(q, n, p)``.

    The smallest count k with P(K <= k) >= q; q = 0 gives -1 and q = 1 gives n.
    """
    return _quantile(_binom_ppf, q, (n, p), _binom_valid, _constant(-1.0), lambda n_, p_: n_)


def binom_cdf(k, n, p):
    """Binomial(n, p) cumulative probability P(K <= k), ``scipy.stats.binom.cdf(k, n, p)``."""
    return _count_cdf(_binom_cdf, k, (n, p), _binom_valid, lambda n_, p_: n_)


def _poisson_ppf_core(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """scipy's ``poisson._ppf``: ceil of the continuous inverse, then one step down if enough."""
    vals = np.ceil(pdtrik(q, mu))
    vals1 = np.maximum(vals - 1, 0)
    return np.where(pdtr(vals1, mu) >= q, vals1, vals)


def poisson_ppf(q, mu):
    """Poisson(mu) quantile, ``scipy.stats.poisson.ppf(q, mu)``; ``mu`` must be at least 0.

    The smallest count k with P(K <= k) >= q; q = 0 gives -1 and q = 1 gives inf.
    """
    return _quantile(
        _poisson_ppf_core, q, (mu,), lambda m: m >= 0, _constant(-1.0), _constant(np.inf)
    )


def poisson_cdf(k, mu):
    """Poisson(mu) cumulative probability P(K <= k), ``scipy.stats.poisson.cdf(k, mu)``."""
    return _count_cdf(pdtr, k, (mu,), lambda m: m >= 0, _constant(np.inf))


# --------------------------------------------------------------------------------------------
# Rank correlation
# --------------------------------------------------------------------------------------------
def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (``scipy.stats.rankdata``'s method)."""
    order = np.argsort(x, kind="mergesort")
    inverse = np.empty(x.size, dtype=np.intp)
    inverse[order] = np.arange(x.size, dtype=np.intp)
    ordered = x[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts)[inverse]
    edges = np.r_[np.flatnonzero(starts), x.size]
    return 0.5 * (edges[group] + edges[group - 1] + 1)


def spearman_rho(x, y) -> float:
    """Spearman's rank correlation, ``scipy.stats.spearmanr(x, y)[0]``.

    Each variable is ranked (ties share their average rank) and the ranks are correlated with
    ``numpy.corrcoef`` laid out as scipy lays them out, so the result is the same to the last
    digit. NaN when there are fewer than two pairs, either variable is constant, or there is a
    NaN (scipy also warns in the constant case; this does not).
    """
    a = np.atleast_1d(np.asarray(x))
    b = np.atleast_1d(np.asarray(y))
    if a.ndim != 1 or b.ndim != 1 or a.size != b.size:
        raise ValueError("spearman_rho needs two 1-D sequences of the same length")
    if a.size <= 1 or (a == a[0]).all() or (b == b[0]).all():
        return np.float64(np.nan)
    pairs = np.column_stack((a, b))
    if np.isnan(pairs.astype(float)).any():
        return np.float64(np.nan)
    ranked = np.column_stack((_average_ranks(pairs[:, 0]), _average_ranks(pairs[:, 1])))
    return np.corrcoef(ranked, rowvar=False)[1, 0]
