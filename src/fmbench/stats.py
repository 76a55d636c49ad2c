"""Confidence intervals (bootstrap for per-item means, half-sampling for set-level
metrics) and paired tests between runs.

All functions are deterministic for a given ``seed`` and skip NaN values (a NaN is a
missing measurement, never a zero). numpy is imported here at module level (it is a core
dependency); scipy is imported only inside :func:`paired_test` for the Wilcoxon test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Bootstrap matrices are built in chunks of at most this many cells (memory bound).
_CHUNK_CELLS = 2_000_000


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[~np.isnan(arr)]


def _apply(statistic: Callable[..., Any], sample: np.ndarray) -> np.ndarray:
    """``statistic`` over the rows of a 2-D array (vectorised when it takes ``axis``)."""
    try:
        out = np.asarray(statistic(sample, axis=1), dtype=np.float64)
        if out.shape == (sample.shape[0],):
            return out
    except TypeError:
        pass
    return np.array([float(statistic(row)) for row in sample], dtype=np.float64)


def _bootstrap_stats(
    x: np.ndarray, statistic: Callable[..., Any], n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    n = x.size
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    out = []
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(rows, n))
        out.append(_apply(statistic, x[idx]))
    return np.concatenate(out) if out else np.empty(0)


def _percentile_ci(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return math.nan, math.nan
    lo, hi = np.percentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def _check(n_boot: int, alpha: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, not {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    statistic: Callable[..., Any] = np.nanmean,
) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` CI of ``statistic`` (default: the mean).

    NaN values are dropped first. With no finite value the CI is ``(nan, nan)``; with
    one it is ``(v, v)`` (a single item carries no spread information). The same
    ``seed`` always gives the same interval.
    """
    _check(n_boot, alpha)
    x = _finite(values)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        v = float(statistic(x))
        return v, v
    rng = np.random.default_rng(seed)
    return _percentile_ci(_bootstrap_stats(x, statistic, n_boot, rng), alpha)


def bootstrap_set_ci(
    fn: Callable[[np.ndarray], float],
    n_items: int,
    *,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap CI of a set-level metric (FAD, KAD, a rate, ...).

    ``fn(indices)`` recomputes the metric on the items at ``indices`` (an int array of
    length ``n_items``, drawn with replacement); resamples where it returns NaN are
    skipped. ``n_items`` 0 gives ``(nan, nan)``; 1 gives ``(v, v)``.
    """
    _check(n_boot, alpha)
    if n_items <= 0:
        return math.nan, math.nan
    if n_items == 1:
        v = float(fn(np.zeros(1, dtype=np.int64)))
        return v, v
    rng = np.random.default_rng(seed)
    stats = np.array(
        [float(fn(rng.integers(0, n_items, size=n_items))) for _ in range(n_boot)],
        dtype=np.float64,
    )
    return _percentile_ci(stats, alpha)


def jackknife_ci(
    fn: Callable[[np.ndarray], float], n_items: int, *, alpha: float = 0.05
) -> tuple[float, float]:
    """Delete-one jackknife CI of a set-level metric: ``θ̂ ± z·SE_jack``.

    ``fn(indices)`` recomputes the metric on the items at ``indices``. Used for set-level
    metrics (FAD, KAD) because their bootstrap distribution is shifted by resampled
    duplicates: a resample holds only ~63% distinct items, which biases distances upward,
    so percentile intervals can miss the point estimate entirely. Leave-one-out sets
    contain no duplicates. ``n_items`` < 2 gives ``(nan, nan)`` (no spread to estimate);
    leave-one-out values that are NaN are skipped.

    Superseded by :func:`set_ci`: a symmetric ``± z·SE`` interval runs below zero for a
    skewed, non-negative distance and ignores its small-sample bias (kept for callers
    that still use it).
    """
    _check(1, alpha)
    if n_items < 2:
        return math.nan, math.nan
    full = float(fn(np.arange(n_items)))
    everyone = np.arange(n_items)
    loo = np.array([float(fn(np.delete(everyone, i))) for i in range(n_items)])
    loo = loo[np.isfinite(loo)]
    if not math.isfinite(full) or len(loo) < 2:
        return math.nan, math.nan
    n = len(loo)
    se = math.sqrt((n - 1) / n * float(np.sum((loo - loo.mean()) ** 2)))
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2)
    return full - z * se, full + z * se


#: ``ci_method`` label of :func:`set_ci` intervals.
SET_CI_METHOD = "subsample"


def set_ci(
    fn: Callable[[np.ndarray], float],
    n_items: int,
    *,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    lower: float | None | str = "auto",
    upper: float | None = None,
) -> tuple[float, float]:
    """CI of a set-level metric (FAD, KAD, a rate over a set) by bias-corrected
    half-sampling: an m-out-of-n subsample interval, m = ⌊n/2⌋, drawn without replacement.

    ``fn(indices)`` recomputes the metric on the items at ``indices``. Each subsample
    holds distinct items only (a with-replacement bootstrap duplicates ~37% of the items,
    which pulls distances upward and can leave the point estimate outside the interval).

    * Spread: the subsample values, centred on their mean and scaled by
      ``sqrt(m / (n − m))`` (exact for a mean: half-samples without replacement have the
      variance of the full-set estimate). Percentiles of that distribution keep the
      statistic's skew (no symmetric ``± z·SE`` that runs below zero for a distance).
    * Bias: a distance estimated from k items is biased by about ``c / k``; the gap
      between the subsample mean and the full-set value estimates it, and the interval
      is centred on the bias-corrected value. For an unbiased estimator (KAD's
      U-statistic) the gap averages to 0.
    * Range: the interval is clipped to ``[lower, upper]``. ``lower="auto"`` (default)
      clips at 0 when the statistic was never negative on the full set or any subsample
      (a distance such as FAD); an unbiased estimator that does go below zero (KAD's
      unbiased MMD², KL with ε smoothing) keeps its negative values: that is a
      legitimate estimate of a distance near 0, not an error.
    * It always contains the point estimate ``fn(all items)`` (widened to it if needed).

    ``fn`` may also offer ``fn.many(list of index arrays) -> values``: all subsamples in
    one call (a statistic whose subsamples share one expensive pass, e.g. KAD's kernel
    sums over a large set, computes them together in bounded memory).

    Deterministic for a given ``seed``. Returns ``(nan, nan)`` when ``n_items`` < 2, when
    the full-set value is not finite, or when fewer than 2 subsamples give a finite value
    (subsamples where ``fn`` returns NaN are skipped).
    """
    _check(n_boot, alpha)
    if n_items < 2:
        return math.nan, math.nan
    full = float(fn(np.arange(n_items)))
    if not math.isfinite(full):
        return math.nan, math.nan
    m = n_items // 2
    rng = np.random.default_rng(seed)
    draws = [np.sort(rng.permutation(n_items)[:m]) for _ in range(n_boot)]
    many = getattr(fn, "many", None)
    values = many(draws) if callable(many) else [fn(ix) for ix in draws]
    subs = np.array([float(v) for v in values], dtype=np.float64)
    subs = subs[np.isfinite(subs)]
    if subs.size < 2:
        return math.nan, math.nan
    ratio = m / (n_items - m)
    centre = float(subs.mean())
    bias = (centre - full) * ratio
    dev = (subs - centre) * math.sqrt(ratio)
    q_lo, q_hi = np.percentile(dev, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    low, high = full - bias + float(q_lo), full - bias + float(q_hi)
    if lower == "auto":
        lower = 0.0 if full >= 0 and float(subs.min()) >= 0 else None
    if lower is not None:
        low, high = max(low, float(lower)), max(high, float(lower))
    if upper is not None:
        low, high = min(low, float(upper)), min(high, float(upper))
    return min(low, full), max(high, full)


@dataclass(frozen=True)
class PairedResult:
    """The outcome of a paired comparison of A and B (``diff = A - B``, per item).

    ``mean_diff`` is the mean paired difference, ``ci_low``/``ci_high`` its percentile
    bootstrap CI, ``p_value`` two-sided, ``n`` the number of pairs with both values
    present, ``significant`` is ``p_value < alpha``.
    """

    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    significant: bool
    method: str = "bootstrap"
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN → None)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


METHODS = ("bootstrap", "wilcoxon")


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    method: str = "bootstrap",
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedResult:
    """Paired test of aligned arrays ``a`` and ``b`` (item ``i`` of each is the same item).

    Pairs where either value is NaN are dropped (``n`` reports how many remain).

    * ``bootstrap``: resample the differences; the two-sided p-value is twice the
      smaller tail share of bootstrap means on either side of 0 (with the +1
      correction), so ``significant`` agrees with the percentile CI excluding 0.
    * ``wilcoxon``: ``scipy.stats.wilcoxon`` on the differences; zero differences are
      discarded (``zero_method="wilcox"``), and when every difference is zero the
      p-value is 1.

    Fewer than 2 pairs: no test (``p_value`` NaN, not significant). The CI is always the
    bootstrap CI of the mean difference.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    _check(n_boot, alpha)
    xa = np.asarray(a, dtype=np.float64).ravel()
    xb = np.asarray(b, dtype=np.float64).ravel()
    if xa.shape != xb.shape:
        raise ValueError(f"paired arrays differ in length: {xa.size} vs {xb.size}")
    keep = ~(np.isnan(xa) | np.isnan(xb))
    d = xa[keep] - xb[keep]
    n = int(d.size)
    if n == 0:
        return PairedResult(math.nan, math.nan, math.nan, math.nan, 0, False, method, alpha)
    mean = float(d.mean())
    if n < 2:
        return PairedResult(mean, mean, mean, math.nan, n, False, method, alpha)
    rng = np.random.default_rng(seed)
    boots = _bootstrap_stats(d, np.mean, n_boot, rng)
    lo, hi = _percentile_ci(boots, alpha)
    if np.all(d == 0):
        p = 1.0
    elif method == "bootstrap":
        below = (np.count_nonzero(boots <= 0) + 1) / (n_boot + 1)
        above = (np.count_nonzero(boots >= 0) + 1) / (n_boot + 1)
        p = min(1.0, 2 * min(below, above))
    else:
        import warnings

        from scipy.stats import wilcoxon

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-n / ties approximation notices
            p = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedResult(mean, lo, hi, float(p), n, bool(p < alpha), method, alpha)
