"""Bootstrap CIs and paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fmbench.stats import PairedResult, bootstrap_ci, bootstrap_set_ci, paired_test


def test_bootstrap_ci_is_deterministic_and_seed_dependent():
    x = np.random.default_rng(1).normal(size=50)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)


def test_bootstrap_ci_covers_the_normal_theory_interval():
    # Mean of N(5, 2²) with n = 400: the CI half-width is close to 1.96 * s / sqrt(n).
    x = np.random.default_rng(0).normal(5.0, 2.0, size=400)
    low, high = bootstrap_ci(x, n_boot=2000)
    half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert low < x.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    assert low < 5.0 < high


def test_bootstrap_ci_coverage_is_near_nominal():
    # 200 datasets drawn from Exp(1) (true mean 1): about 95% of the CIs cover it.
    rng = np.random.default_rng(42)
    hits = sum(
        lo <= 1.0 <= hi
        for lo, hi in (
            bootstrap_ci(rng.exponential(size=60), n_boot=400, seed=i) for i in range(200)
        )
    )
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_ci_hand_checkable_cases():
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)  # no spread
    assert bootstrap_ci([7.0]) == (7.0, 7.0)  # one value
    lo, hi = bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = bootstrap_ci([math.nan, math.nan])
    assert math.isnan(lo) and math.isnan(hi)
    # values in {0, 1}: every bootstrap mean lies in [0, 1] and the CI is inside too
    lo, hi = bootstrap_ci([0, 1] * 10)
    assert 0.0 <= lo < 0.5 < hi <= 1.0


def test_bootstrap_ci_skips_nan():
    x = [0.1, 0.4, 0.35, 0.8, 0.5]
    assert bootstrap_ci(x + [math.nan, math.nan]) == bootstrap_ci(x)


def test_bootstrap_ci_with_a_custom_statistic_without_axis():
    x = np.arange(20, dtype=float)
    lo, hi = bootstrap_ci(x, statistic=lambda v: float(np.median(v)))
    assert lo <= np.median(x) <= hi
    assert bootstrap_ci(x, statistic=np.median) == (lo, hi)  # vectorised path agrees


def test_bootstrap_ci_argument_checks():
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([1, 2], n_boot=0)
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci([1, 2], alpha=1.5)


def test_bootstrap_set_ci_recomputes_the_metric_on_resampled_items():
    x = np.random.default_rng(0).normal(size=80)
    # with the mean as the "set metric" the result equals bootstrap_ci's (same draws)
    set_ci = bootstrap_set_ci(lambda idx: float(x[idx].mean()), x.size, n_boot=300, seed=5)
    assert set_ci == pytest.approx(bootstrap_ci(x, n_boot=300, seed=5))
    calls = []
    bootstrap_set_ci(lambda idx: calls.append(idx) or 0.0, 7, n_boot=4)
    assert len(calls) == 4 and all(c.shape == (7,) and c.max() < 7 for c in calls)


def test_bootstrap_set_ci_edge_cases():
    lo, hi = bootstrap_set_ci(lambda idx: 1.0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    assert bootstrap_set_ci(lambda idx: 3.0, 1) == (3.0, 3.0)
    # degenerate resamples (NaN) are skipped; all-NaN gives a NaN CI
    lo, hi = bootstrap_set_ci(lambda idx: math.nan, 5)
    assert math.isnan(lo) and math.isnan(hi)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    lo, hi = bootstrap_set_ci(
        lambda idx: math.nan if len(set(idx.tolist())) < 2 else float(np.var(x[idx])), 4
    )
    assert 0 <= lo <= hi <= np.var([1.0, 4.0])


@pytest.mark.parametrize("method", ["bootstrap", "wilcoxon"])
def test_paired_test_detects_a_clear_difference(method):
    rng = np.random.default_rng(0)
    base = rng.normal(size=60)
    a = base + 0.5 + rng.normal(scale=0.2, size=60)  # A is higher on every item, by ~0.5
    res = paired_test(a, base, method=method)
    assert isinstance(res, PairedResult) and res.method == method
    assert res.significant and res.p_value < 0.001
    assert res.n == 60
    assert res.ci_low < res.mean_diff < res.ci_high
    assert 0.4 < res.ci_low and res.ci_high < 0.6
    assert paired_test(base, a, method=method).mean_diff == pytest.approx(-res.mean_diff)


@pytest.mark.parametrize("method", ["bootstrap", "wilcoxon"])
def test_paired_test_null_case_is_not_significant(method):
    rng = np.random.default_rng(7)
    base = rng.normal(size=80)
    a = base + rng.normal(scale=0.3, size=80)  # same distribution, independent noise
    b = base + rng.normal(scale=0.3, size=80)
    res = paired_test(a, b, method=method)
    assert not res.significant and res.p_value > 0.05
    assert res.ci_low < 0 < res.ci_high


def test_paired_test_false_positive_rate_is_controlled():
    rng = np.random.default_rng(3)
    rejections = sum(
        paired_test(rng.normal(size=30), rng.normal(size=30), n_boot=400, seed=i).significant
        for i in range(100)
    )
    assert rejections <= 12  # nominal 5%


def test_paired_test_drops_nan_pairs_and_reports_n():
    a = [1.0, 2.0, math.nan, 4.0, 5.0]
    b = [0.0, math.nan, 3.0, 3.0, 4.0]
    res = paired_test(a, b)
    assert res.n == 3 and res.mean_diff == 1.0  # pairs (1,0), (4,3), (5,4)


@pytest.mark.parametrize("method", ["bootstrap", "wilcoxon"])
def test_paired_test_zero_differences(method):
    res = paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], method=method)
    assert res.mean_diff == 0.0 and res.p_value == 1.0 and not res.significant
    assert (res.ci_low, res.ci_high) == (0.0, 0.0)
    # some zero differences among others are handled (discarded by Wilcoxon)
    res = paired_test([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 3, 4, 5, 6, 7], method=method)
    assert res.n == 8 and res.mean_diff == pytest.approx(6 / 8)


def test_paired_test_wilcoxon_matches_scipy():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(11)
    a, b = rng.normal(size=25), rng.normal(0.3, size=25)
    assert paired_test(a, b, method="wilcoxon").p_value == pytest.approx(wilcoxon(a - b).pvalue)


def test_paired_test_tiny_and_bad_inputs():
    res = paired_test([], [])
    assert res.n == 0 and math.isnan(res.mean_diff) and not res.significant
    res = paired_test([2.0], [1.0])
    assert res.n == 1 and res.mean_diff == 1.0 and math.isnan(res.p_value) and not res.significant
    assert res.to_dict()["p_value"] is None
    with pytest.raises(ValueError, match="differ in length"):
        paired_test([1, 2], [1])
    with pytest.raises(ValueError, match="unknown method"):
        paired_test([1, 2], [1, 2], method="ttest")


def test_jackknife_of_the_mean_is_the_classical_interval():
    from statistics import NormalDist

    from fmbench.stats import jackknife_ci

    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 1.5, size=60)
    low, high = jackknife_ci(lambda ix: float(x[ix].mean()), len(x))
    half = NormalDist().inv_cdf(0.975) * x.std(ddof=1) / np.sqrt(len(x))
    assert low == pytest.approx(x.mean() - half) and high == pytest.approx(x.mean() + half)


def test_jackknife_contains_a_biased_set_statistic():
    """A statistic the bootstrap shifts (distinct-count based) keeps its estimate inside."""
    from fmbench.stats import bootstrap_set_ci, jackknife_ci

    x = np.arange(50, dtype=float)

    def distinct_share(ix):
        return len(np.unique(x[ix])) / len(ix)

    b_low, b_high = bootstrap_set_ci(distinct_share, 50, n_boot=200, seed=0)
    assert b_high < 1.0  # the bootstrap interval misses the true value 1.0 entirely
    j_low, j_high = jackknife_ci(distinct_share, 50)
    assert j_low <= 1.0 <= j_high


def test_jackknife_degenerate_sizes():
    from fmbench.stats import jackknife_ci

    assert all(np.isnan(v) for v in jackknife_ci(lambda ix: 1.0, 1))
    assert jackknife_ci(lambda ix: 3.0, 5) == (3.0, 3.0)


# -- set-level intervals: bias-corrected half-sampling ----------------------------------


def _frechet(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between the Gaussian fits of two row sets (FAD's formula)."""

    def sqrt_psd(s):
        w, v = np.linalg.eigh((s + s.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    r = sqrt_psd(s1)
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum()
    d = x.mean(0) - y.mean(0)
    return max(0.0, float(d @ d + np.trace(s1) + np.trace(s2) - 2 * tr_covmean))


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """KAD's statistic without the factor 100: the unbiased Gaussian-kernel MMD²."""

    def k(a, b):
        return np.exp(-gamma * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    m, n = len(x), len(y)
    kxx = (k(x, x).sum() - m) / (m * (m - 1))
    kyy = (k(y, y).sum() - n) / (n * (n - 1))
    return float(kxx + kyy - 2 * k(x, y).mean())


def _set_intervals(stat, d, n, delta, sigma, reps, method="set"):
    """Intervals for ``stat`` on ``reps`` simulated item sets: item i holds a reference
    row x_i ~ N(0, I_d) and a generated row y_i ~ N(delta, sigma² I_d)."""
    from fmbench.stats import jackknife_ci, set_ci

    rng = np.random.default_rng(2024)
    out = []
    for r in range(reps):
        x, y = rng.normal(size=(n, d)), rng.normal(delta, sigma, size=(n, d))

        def fn(ix, x=x, y=y):
            return stat(x[ix], y[ix])

        ci = set_ci(fn, n, n_boot=100, seed=r) if method == "set" else jackknife_ci(fn, n)
        out.append((*ci, fn(np.arange(n))))
    return out


def test_set_ci_covers_a_known_frechet_distance():
    # FD(N(0, I), N(δ, σ²I)) = d·δ² + d·(1 − σ)² exactly; the estimate is biased upward
    d, n, delta, sigma = 6, 60, 0.2, 1.2
    true = d * delta**2 + d * (1 - sigma) ** 2
    cis = _set_intervals(_frechet, d, n, delta, sigma, reps=60)
    coverage = np.mean([lo <= true <= hi for lo, hi, _ in cis])
    assert coverage >= 0.9
    assert all(0 <= lo <= est <= hi for lo, hi, est in cis)  # in range, around the estimate
    # the delete-one jackknife it replaces misses the biased statistic's true value often
    jack = _set_intervals(_frechet, d, n, delta, sigma, reps=60, method="jackknife")
    assert np.mean([lo <= true <= hi for lo, hi, _ in jack]) < 0.8


def test_set_ci_of_a_zero_distance_never_goes_below_zero():
    # identical distributions: the true FD is 0, the symmetric jackknife ran below it
    cis = _set_intervals(_frechet, 4, 50, 0.0, 1.0, reps=40)
    assert all(lo == 0.0 or lo > 0 for lo, _, _ in cis)
    assert np.mean([lo <= 0.0 for lo, _, _ in cis]) >= 0.9  # the truth, 0, is covered
    assert all(lo <= est <= hi for lo, hi, est in cis)
    jack = _set_intervals(_frechet, 4, 50, 0.0, 1.0, reps=40, method="jackknife")
    assert any(lo < 0 for lo, _, _ in jack)


def test_set_ci_covers_a_known_kernel_distance_and_keeps_unbiased_negatives():
    d, n, delta, gamma = 3, 40, 0.4, 1 / 6

    def mmd(x, y):
        return _unbiased_mmd2(x, y, gamma)

    def e_kernel(mean_sq, var):  # E exp(−γ‖z‖²) for z ~ N(m, var·I_d), ‖m‖² = mean_sq
        return (1 + 2 * gamma * var) ** (-d / 2) * math.exp(
            -gamma * mean_sq / (1 + 2 * gamma * var)
        )

    true = 2 * e_kernel(0, 2.0) - 2 * e_kernel(d * delta**2, 2.0)
    cis = _set_intervals(mmd, d, n, delta, 1.0, reps=60)
    assert np.mean([lo <= true <= hi for lo, hi, _ in cis]) >= 0.85
    assert all(lo <= est <= hi for lo, hi, est in cis)
    # with no difference at all the unbiased estimate scatters around 0, below it too;
    # the interval keeps those values (documented) and covers the true 0
    null = _set_intervals(mmd, d, n, 0.0, 1.0, reps=30)
    assert any(est < 0 for _, _, est in null) and any(lo < 0 for lo, _, _ in null)
    assert np.mean([lo <= 0 <= hi for lo, hi, _ in null]) >= 0.9


def test_set_ci_explicit_range_seed_and_edge_cases():
    from fmbench.stats import set_ci

    hits = np.array([1.0] * 29 + [0.0])  # a set-level rate near its upper bound 1

    def rate(ix):
        return float(hits[ix].mean())

    lo, hi = set_ci(rate, 30, upper=1.0, seed=1)
    assert 0.0 <= lo <= rate(np.arange(30)) <= hi <= 1.0
    assert set_ci(rate, 30, seed=1) == set_ci(rate, 30, seed=1)
    assert all(math.isnan(v) for v in set_ci(rate, 1))
    assert all(math.isnan(v) for v in set_ci(lambda ix: math.nan, 10))
    assert set_ci(lambda ix: 2.5, 10) == (2.5, 2.5)  # no spread: the point itself
    with pytest.raises(ValueError, match="n_boot"):
        set_ci(rate, 30, n_boot=0)
