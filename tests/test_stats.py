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
