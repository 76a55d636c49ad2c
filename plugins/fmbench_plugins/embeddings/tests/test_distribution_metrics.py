"""FAD / KAD / KL: hand-computed values, the FAD oracle, failure accounting, caching."""

from __future__ import annotations

import ast
import importlib.util
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fmbench_plugins.embeddings.distribution import (
    FrechetAudioDistance,
    KernelAudioDistance,
    KlDivergence,
    frechet_distance,
    frechet_distance_rows,
    gaussian_stats,
    kernel_audio_distance,
    kernel_audio_distance_bandwidth,
    kl_per_pair,
    median_pairwise_distance,
)

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.contracts import Sample
from fmbench.errors import FmbenchError


class RowsEmbedder:
    """Test embedder: the audio samples themselves, reshaped to (frames, dim)."""

    identity = "rows@test"
    sample_rate = 16_000

    def __init__(self, dim=2):
        self.dim = dim
        self.calls = 0

    def embed(self, audio):
        self.calls += 1
        return audio.samples.astype(np.float64).reshape(-1, self.dim)


def _a(*values) -> Audio:
    return Audio(np.array(values, dtype=np.float32), 16_000)


def _samples(ref_rows, gen_rows):
    return [
        Sample(str(i), "c", audio=g, reference_audio=r)
        for i, (r, g) in enumerate(zip(ref_rows, gen_rows, strict=True))
    ]


# -- FAD -----------------------------------------------------------------------------


def _oracle():
    """frechet-audio-distance 0.3.4's calculate_frechet_distance, loaded from its source
    file alone (importing the package needs torch, laion_clap, encodec...)."""
    spec = importlib.util.find_spec("frechet_audio_distance")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("frechet-audio-distance is not installed (pip install --no-deps ...==0.3.4)")
    src = (Path(spec.submodule_search_locations[0]) / "fad.py").read_text()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.FunctionDef) and node.name == "calculate_frechet_distance":
            code = textwrap.dedent(ast.get_source_segment(src, node))
            break
    else:
        pytest.skip("calculate_frechet_distance not found in frechet_audio_distance/fad.py")
    import warnings

    from scipy import linalg

    ns = {"np": np, "linalg": linalg}
    exec(compile(code, "fad.py", "exec"), ns)  # noqa: S102 - a test oracle

    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy's sqrtm(disp=...)
            return ns["calculate_frechet_distance"](None, *args)

    return call


@pytest.mark.parametrize("n,d,seed", [(200, 8, 0), (60, 16, 1), (500, 32, 2)])
def test_fad_agrees_with_frechet_audio_distance(n, d, seed):
    oracle = _oracle()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    y = 0.5 + rng.standard_normal((n + 7, d)) @ rng.standard_normal((d, d))
    mu1, s1 = gaussian_stats(x)
    mu2, s2 = gaussian_stats(y)
    np.testing.assert_allclose(s1, np.cov(x, rowvar=False, ddof=1))
    expected = float(oracle(mu1, s1, mu2, s2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)


def test_fad_hand_computed_and_never_negative_or_complex():
    # 1-D: (μ1−μ2)² + σ1² + σ2² − 2σ1σ2 = (1 − 3)² + (2 − 1)² = 5
    assert frechet_distance(
        np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]])
    ) == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 40))  # rank-deficient covariance (5 rows, 40 dims)
    mu, s = gaussian_stats(x)
    v = frechet_distance(mu, s, mu, s)
    assert isinstance(v, float) and 0.0 <= v < 1e-9
    z = np.zeros((40, 40))
    assert frechet_distance(mu, z, mu, z) == 0.0


@pytest.mark.parametrize(
    "n1,n2,d,seed",
    [(30, 30, 64, 0), (12, 50, 64, 1), (50, 12, 64, 2), (70, 90, 64, 3), (100, 100, 300, 4)],
    ids=["n<d", "n1<n2<d", "n2<n1<d", "n>d", "pann-like"],
)
def test_fad_row_form_equals_the_dxd_form_and_the_oracle(n1, n2, d, seed):
    oracle = _oracle()
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / math.sqrt(d)
    x = rng.standard_normal((n1, d)) @ mix + 3.0
    y = 0.2 + 1.3 * rng.standard_normal((n2, d)) @ mix + 3.0
    stats = (*gaussian_stats(x), *gaussian_stats(y))
    value = frechet_distance_rows(x, y)
    assert value == pytest.approx(frechet_distance(*stats), rel=1e-6)
    assert value == pytest.approx(float(oracle(*stats)), rel=1e-6)
    assert frechet_distance_rows(y, x) == pytest.approx(value, rel=1e-9)  # symmetric


def test_fad_cholesky_and_square_root_forms_agree():
    """A positive-definite Σ1 takes the Cholesky form, a singular one (a constant
    dimension) the matrix square root; both give the eigenvalues of Σ1Σ2 (compared with
    a direct eigen-solve)."""
    rng = np.random.default_rng(7)
    for singular in (False, True):
        x = rng.standard_normal((200, 20)) * np.linspace(0.5, 2.0, 20)
        if singular:
            x[:, 3] = 1.0
        y = rng.standard_normal((300, 20)) @ rng.standard_normal((20, 20)) * 0.3 + 0.1
        (mu1, s1), (mu2, s2) = gaussian_stats(x), gaussian_stats(y)
        if singular:
            with pytest.raises(np.linalg.LinAlgError):
                np.linalg.cholesky(s1)
        # Σ1Σ2's eigenvalues: those of the product over the dimensions Σ1 varies in, and 0
        keep = np.flatnonzero(np.diag(s1) > 0)
        eig = np.linalg.eigvals(s1[np.ix_(keep, keep)] @ s2[np.ix_(keep, keep)])
        trace = float(np.sqrt(np.clip(eig.real, 0, None)).sum())
        d = mu1 - mu2
        expected = float(d @ d + np.trace(s1) + np.trace(s2) - 2 * trace)
        # the square root's zero eigenvalues come back as rounding noise (~1e-15), whose
        # square roots add ~1e-8: the documented tolerance, 1e-6 relative
        rel = 1e-6 if singular else 1e-9
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=rel)


def test_fad_row_form_hand_computed():
    # 2 rows in 3 dims: x deviates along e1 (Σ1 = 2 e1e1ᵀ), μ1 = 0
    x = np.array([[1.0, 0, 0], [-1.0, 0, 0]])
    # along e2 (Σ2 = 2 e2e2ᵀ), μ2 = (1,1,1): Σ1Σ2 = 0 -> 3 + 2 + 2 − 0 = 7
    assert frechet_distance_rows(x, np.array([[1.0, 2, 1], [1.0, 0, 1]])) == pytest.approx(7.0)
    # along e1 too: tr sqrt(Σ1Σ2) = 2 -> 3 + 2 + 2 − 4 = 3
    assert frechet_distance_rows(x, np.array([[2.0, 1, 1], [0.0, 1, 1]])) == pytest.approx(3.0)
    # along v = (1,1,0): Σ2 = 2vvᵀ, Σ1Σ2 = 4 e1vᵀ has eigenvalue 4 -> 3 + 2 + 4 − 4 = 5
    assert frechet_distance_rows(x, np.array([[2.0, 2, 1], [0.0, 0, 1]])) == pytest.approx(5.0)
    # identical rank-deficient sets: exactly 0, a float, never negative
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 40))
    v = frechet_distance_rows(z, z)
    assert isinstance(v, float) and 0.0 <= v < 1e-9
    assert frechet_distance_rows(np.ones((3, 40)), np.ones((4, 40))) == 0.0
    with pytest.raises(ValueError, match="2 rows"):
        frechet_distance_rows(z[:1], z)
    with pytest.raises(ValueError, match="equal width"):
        frechet_distance_rows(z, z[:, :3])


def test_fad_metric_counts_failures_and_needs_two_rows(tmp_path):
    emb = RowsEmbedder(dim=2)
    m = FrechetAudioDistance(embedder=emb, cache=Cache(tmp_path))
    ref = [_a(0, 0, 1, 1), _a(2, 0, 0, 3)]
    gen = [_a(0, 1, 1, 0), Audio(np.zeros(0, np.float32), 16_000)]
    r = m.score(_samples(ref, gen))
    x = np.array([[0, 0], [1, 1], [2, 0], [0, 3]], float)
    y = np.array([[0, 1], [1, 0]], float)
    assert r.value("fad") == pytest.approx(frechet_distance(*gaussian_stats(x), *gaussian_stats(y)))
    assert r.details["n_generated_failed"] == 1 and r.details["n_reference"] == 2
    assert r.details["failed"]["generated"] == {"1": "empty audio"}
    assert r.reasons[("fad", 1)] == "generated: empty audio"
    one = m.score(_samples([_a(1, 2)], [_a(3, 4)]))  # a set of one row per side
    assert math.isnan(one.value("fad")) and "at least 2" in one.details["reason"]


# -- KAD -----------------------------------------------------------------------------


def test_kad_hand_computed():
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    g = 1.0 / (2.0 + 1e-8)  # bandwidth 1
    kxx = math.exp(-g)  # (2 off-diagonal terms) / (2·1)
    kyy = math.exp(-4 * g)
    kxy = (1 + math.exp(-4 * g) + 2 * math.exp(-g)) / 4
    assert kernel_audio_distance(x, y, 1.0) == pytest.approx(100 * (kxx + kyy - 2 * kxy))
    assert kernel_audio_distance(x, x, 1.0) == pytest.approx(
        100 * (2 * math.exp(-g) - (2 + 2 * math.exp(-g)) / 2)
    )


def test_median_pairwise_distance_takes_the_lower_middle():
    assert median_pairwise_distance(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)
    # 4 rows: distances 1,3,7,2,6,4 -> sorted 1,2,3,4,6,7 -> lower middle 3 (torch.median)
    assert median_pairwise_distance(np.array([[0.0], [1.0], [3.0], [7.0]])) == pytest.approx(3.0)
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert median_pairwise_distance(pts) == pytest.approx(5.0)


def test_kad_bandwidth_options(tmp_path):
    emb = RowsEmbedder(dim=1)
    ref = [_a(0, 1), _a(3, 7)]  # reference rows 0,1,3,7 -> bandwidth 3
    gen = [_a(0, 2), _a(4, 4)]  # evaluated rows 0,2,4,4 -> distances 2,4,4,2,2,0 -> 2
    samples = _samples(ref, gen)
    x = np.array([[0.0], [1], [3], [7]])
    y = np.array([[0.0], [2], [4], [4]])
    for bw, h in (("reference", 3.0), ("evaluated", 2.0), (1.5, 1.5), ("1.5", 1.5)):
        r = KernelAudioDistance(embedder=emb, cache=Cache(tmp_path), bandwidth=bw).score(samples)
        assert r.details["bandwidth"] == pytest.approx(h)
        assert r.value("kad") == pytest.approx(kernel_audio_distance(x, y, h))
    for bad in ("median", 0, -1.0, math.nan):
        with pytest.raises(FmbenchError):
            KernelAudioDistance(embedder=emb, bandwidth=bad)


@pytest.mark.parametrize(
    ("block", "elements", "in_memory"),
    [(4096, 1 << 22, 1 << 22), (7, 1 << 22, 1 << 22), (7, 20, 1 << 22), (7, 20, 50), (7, 20, 3)],
    ids=["one-block", "blocks", "bounded-blocks", "median-by-counting", "median-narrowed"],
)
def test_kad_shared_distances_and_blocks_give_the_same_value(
    monkeypatch, block, elements, in_memory
):
    import fmbench_plugins.embeddings.distribution as dist

    monkeypatch.setattr(dist, "_BLOCK_ELEMENTS", elements)
    monkeypatch.setattr(dist, "_MEDIAN_IN_MEMORY", in_memory)

    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 6)) + 10.0  # an offset: centring must not change values
    y = 0.3 + rng.standard_normal((33, 6)) + 10.0
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))[np.triu_indices(len(x), 1)]
    h_ref = float(np.sort(d)[(len(d) - 1) // 2])

    def brute(h):
        g = 1.0 / (2.0 * h**2 + 1e-8)
        k = lambda a, b: np.exp(-g * ((a[:, None] - b[None]) ** 2).sum(-1))  # noqa: E731
        m, n = len(x), len(y)
        return 100 * (
            (k(x, x).sum() - m) / (m * (m - 1))
            + (k(y, y).sum() - n) / (n * (n - 1))
            - 2 * k(x, y).mean()
        )

    monkeypatch.setattr(dist, "_BLOCK", block)
    assert median_pairwise_distance(x) == pytest.approx(h_ref, rel=1e-12)
    assert kernel_audio_distance(x, y, 1.7) == pytest.approx(brute(1.7), rel=1e-9)
    value, h = kernel_audio_distance_bandwidth(x, y, "reference")
    assert h == pytest.approx(h_ref, rel=1e-12) and value == pytest.approx(brute(h), rel=1e-9)
    value, h = kernel_audio_distance_bandwidth(x, y, "evaluated")
    assert h == pytest.approx(median_pairwise_distance(y)) and value == pytest.approx(brute(h))
    assert kernel_audio_distance_bandwidth(x, y, 2.5) == pytest.approx((brute(2.5), 2.5))
    with pytest.raises(ValueError, match="bandwidth"):
        kernel_audio_distance_bandwidth(x, y, "median")


def test_median_by_counting_handles_ties_and_identical_rows(monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist

    monkeypatch.setattr(dist, "_BLOCK", 4)
    monkeypatch.setattr(dist, "_MEDIAN_IN_MEMORY", 2)
    same = np.ones((9, 3))  # every distance is 0
    assert median_pairwise_distance(same) == 0.0
    grid = np.repeat(np.arange(4.0), 5)[:, None]  # many equal distances
    d = np.abs(grid - grid.T)[np.triu_indices(len(grid), 1)]
    assert median_pairwise_distance(grid) == float(np.sort(d)[(len(d) - 1) // 2])


def test_kad_identical_silent_sets_do_not_divide_by_zero(tmp_path):
    emb = RowsEmbedder(dim=1)
    silent = [_a(0, 0), _a(0, 0)]
    r = KernelAudioDistance(embedder=emb, cache=Cache(tmp_path)).score(_samples(silent, silent))
    assert r.details["bandwidth"] == 0.0 and r.value("kad") == pytest.approx(0.0)


# -- KL ------------------------------------------------------------------------------


def test_kl_hand_computed_softmax_and_sigmoid():
    r = np.array([[0.0, math.log(3.0)]])  # softmax -> p = (1/4, 3/4)
    g = np.array([[0.0, 0.0]])  # q = (1/2, 1/2)
    q = 0.5 + 1e-6
    expected = 0.25 * (math.log(0.25) - math.log(q)) + 0.75 * (math.log(0.75) - math.log(q))
    assert kl_per_pair(r, g)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_per_pair(g, g)[0] == pytest.approx(-math.log(q) * 1 + math.log(0.5), abs=1e-5)
    ps = 1 / (1 + np.exp(-r[0]))
    sig = float(np.sum(ps * (np.log(ps) - np.log(0.5 + 1e-6))))
    assert kl_per_pair(r, g, "sigmoid")[0] == pytest.approx(sig, rel=1e-12)
    big = np.array([[1000.0, -1000.0]])  # no overflow
    assert np.isfinite(kl_per_pair(big, -big)).all()


def test_kl_metric_is_per_pair_with_reasons(tmp_path):
    emb = RowsEmbedder(dim=2)
    ln3 = math.log(3.0)
    ref = [_a(0, ln3, 0, ln3), _a(1, 1), _a(1, 1), _a(1, 1)]
    gen = [_a(0, 0), _a(1, 1), None, _a(np.nan, 1)]
    r = KlDivergence(embedder=emb, cache=Cache(tmp_path)).score(_samples(ref, gen))
    v = r.per_sample["kl"]
    q = 0.5 + 1e-6
    expected = 0.25 * (math.log(0.25) - math.log(q)) + 0.75 * (math.log(0.75) - math.log(q))
    assert v[0] == pytest.approx(expected, rel=1e-6)
    assert v[1] == pytest.approx(math.log(0.5) - math.log(q), abs=1e-6)
    assert np.isnan(v[2:]).all()
    assert r.reasons[("kl", 2)] == "generated: no audio"
    assert "NaN" in r.reasons[("kl", 3)]
    assert r.details["n_pairs"] == 2 and r.details["n_generated_failed"] == 2
    with pytest.raises(FmbenchError):
        KlDivergence(embedder=emb, variant="logit")


def test_nan_embedding_is_counted_not_dropped(tmp_path):
    class NanEmbedder(RowsEmbedder):
        identity = "nan@test"

        def embed(self, audio):
            return np.full((2, 2), np.nan)

    r = FrechetAudioDistance(embedder=NanEmbedder(), cache=Cache(tmp_path)).score(
        _samples([_a(0, 0, 1, 1)], [_a(0, 0, 1, 1)])
    )
    assert math.isnan(r.value("fad"))
    assert r.details["n_generated_failed"] == 1 and r.details["n_reference_failed"] == 1


# -- embedder resolution, identity, cache ---------------------------------------------


def test_embedder_option_identity_and_cache(tmp_path):
    from fmbench.plugins import Plugins

    reg = Plugins(only=["embeddings"]).registry
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("fmbench.plugins.get_registry", lambda: reg)
        fad_mfcc = reg.create("metric", "fad", embedder="mfcc", cache=str(tmp_path))
        fad_logmel = reg.create("metric", "fad", embedder="logmel", cache=str(tmp_path))
        assert "mfcc@" in fad_mfcc.identity and "logmel@" in fad_logmel.identity
        with pytest.raises(FmbenchError):
            reg.create("metric", "kad", embedder="vggishh")
    info = reg.get("metric", "kl")
    assert info.metric_kind == "paired_audio" and info.direction == "lower"
    assert reg.get("metric", "fad").metric_kind == "set"

    emb = RowsEmbedder(dim=2)
    samples = _samples([_a(0, 0, 1, 1), _a(2, 0, 0, 3)], [_a(0, 1, 1, 0), _a(1, 1, 2, 2)])
    first = FrechetAudioDistance(embedder=emb, cache=Cache(tmp_path)).score(samples)
    assert emb.calls == 4
    again = KernelAudioDistance(embedder=emb, cache=Cache(tmp_path)).score(samples)
    assert emb.calls == 4  # every clip came from the on-disk cache
    assert math.isfinite(first.value("fad")) and math.isfinite(again.value("kad"))


def test_real_embedders_end_to_end(tmp_path):
    sr = 16_000
    t = np.arange(sr * 2) / sr
    rng = np.random.default_rng(0)

    def tone(f):
        return Audio(
            (0.3 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))).astype(
                np.float32
            ),
            sr,
        )

    ref = [tone(f) for f in (220, 330, 440, 550)]
    same = _samples(ref, ref)
    silent = _samples(ref, [Audio(np.zeros(len(t), np.float32), sr)] * 4)
    for name in ("mfcc", "logmel"):
        from fmbench_plugins.embeddings.features import LogMelEmbedder, MfccEmbedder

        emb = MfccEmbedder() if name == "mfcc" else LogMelEmbedder()
        for cls, col in ((FrechetAudioDistance, "fad"), (KernelAudioDistance, "kad")):
            m = cls(embedder=emb, cache=Cache(tmp_path))
            d_same, d_silent = m.score(same).value(col), m.score(silent).value(col)
            assert math.isfinite(d_silent) and d_silent > d_same
            if col == "fad":
                assert abs(d_same) < 1e-6 * d_silent
            # (unbiased MMD² of a set against itself is slightly negative: no assertion)
        kl = KlDivergence(embedder=emb, cache=Cache(tmp_path))
        assert kl.score(same).value("kl") < kl.score(silent).value("kl")
