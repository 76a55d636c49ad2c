"""The bootstrap fast paths equal scoring the resampled list directly."""

from __future__ import annotations

import numpy as np
import pytest
from fmbench_plugins.embeddings.distribution import FrechetAudioDistance, KernelAudioDistance

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.contracts import Sample


class RowsEmbedder:
    """Deterministic pseudo-embeddings: 3 rows of 4 dims derived from the samples."""

    identity = "rows/1"
    dim = 4
    sample_rate = 8000

    def embed(self, audio: Audio) -> np.ndarray:
        x = audio.samples[:12].astype(np.float64)
        return x.reshape(3, 4)


def _samples(n: int, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gen = Audio(rng.normal(size=64).astype(np.float32), 8000)
        ref = Audio(rng.normal(0.3, 1.2, size=64).astype(np.float32), 8000)
        out.append(Sample(str(i), "c", audio=gen, reference_audio=ref))
    out[2] = Sample("2", "c", audio=None, reference_audio=out[2].reference_audio)  # a failed item
    return out


@pytest.mark.parametrize(
    "metric",
    [
        lambda: FrechetAudioDistance(embedder=RowsEmbedder(), cache=Cache(None)),
        lambda: KernelAudioDistance(embedder=RowsEmbedder(), cache=Cache(None), bandwidth=1.7),
    ],
    ids=["fad", "kad"],
)
@pytest.mark.parametrize("block", [2048, 5])  # 5: item rows straddle the blocks
@pytest.mark.parametrize("item_matrix_max", [1024, 0], ids=["item-sums", "streamed"])
def test_resampler_matches_score_on_the_resampled_list(metric, block, item_matrix_max, monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist

    monkeypatch.setattr(dist, "_BLOCK", block)
    monkeypatch.setattr(dist, "ITEM_MATRIX_MAX", item_matrix_max)
    m = metric()
    samples = _samples(12)
    on = m.resampler(samples)
    rng = np.random.default_rng(1)
    for _ in range(5):
        idx = rng.integers(0, len(samples), size=len(samples))
        direct = m.score([samples[i] for i in idx]).set_values[m.column]
        assert on(idx)[m.column] == pytest.approx(direct, rel=1e-9, abs=1e-12)
    assert on(np.arange(len(samples)))[m.column] == pytest.approx(
        m.score(samples).set_values[m.column], rel=1e-9
    )


def test_kad_resampler_holds_the_full_set_bandwidth():
    m = KernelAudioDistance(embedder=RowsEmbedder(), cache=Cache(None))
    samples = _samples(10)
    full = m.score(samples)
    assert m.resampler(samples)(np.arange(10))["kad"] == pytest.approx(full.set_values["kad"])
    assert np.isnan(m.resampler(samples[2:3])(np.zeros(1, dtype=int))["kad"])


@pytest.mark.parametrize("item_matrix_max", [1024, 0], ids=["item-sums", "streamed"])
def test_kad_many_equals_one_at_a_time(item_matrix_max, monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist

    monkeypatch.setattr(dist, "_BLOCK", 4)
    monkeypatch.setattr(dist, "ITEM_MATRIX_MAX", item_matrix_max)
    # a fixed bandwidth: the resampler holds the full set's, score() takes the subset's
    m = KernelAudioDistance(embedder=RowsEmbedder(), cache=Cache(None), bandwidth=1.7)
    samples = _samples(11)
    on = m.resampler(samples)
    rng = np.random.default_rng(2)
    draws = [np.sort(rng.permutation(11)[:5]) for _ in range(6)] + [np.array([2])]
    batch = on.many(draws)
    for ix, got in zip(draws, batch, strict=True):
        direct = m.score([samples[i] for i in ix]).set_values["kad"]
        if np.isnan(direct):
            assert np.isnan(got["kad"])
        else:
            assert got["kad"] == pytest.approx(direct, rel=1e-9, abs=1e-12)


def test_set_ci_uses_the_batch_and_gives_the_same_interval(monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist

    from fmbench.run.score import _subset_fn
    from fmbench.stats import set_ci

    m = KernelAudioDistance(embedder=RowsEmbedder(), cache=Cache(None))
    samples = _samples(12)
    fn = _subset_fn(m, samples, "kad")
    one_by_one = set_ci(lambda ix: fn(ix), len(samples), n_boot=40, seed=3)
    monkeypatch.setattr(dist, "ITEM_MATRIX_MAX", 0)
    streamed = set_ci(_subset_fn(m, samples, "kad"), len(samples), n_boot=40, seed=3)
    assert streamed == pytest.approx(one_by_one, rel=1e-9)


def test_kad_computes_a_large_sets_median_once_for_score_and_interval(monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist
    from fmbench_plugins.embeddings.distribution import kernel_audio_distance_bandwidth

    monkeypatch.setattr(dist, "_BLOCK", 4)  # 12 items × 3 rows: a "large" set
    calls = []
    real = dist.median_pairwise_distance
    monkeypatch.setattr(dist, "median_pairwise_distance", lambda r: calls.append(1) or real(r))
    m = KernelAudioDistance(embedder=RowsEmbedder(), cache=Cache(None))
    samples = _samples(12)
    value = m.score(samples).set_values["kad"]
    on = m.resampler(samples)
    assert len(calls) == 1
    x, y = m.embed_sets(samples, dist.MetricResult())
    assert value == pytest.approx(kernel_audio_distance_bandwidth(x, y, "reference")[0], rel=1e-9)
    assert on(np.arange(12))["kad"] == pytest.approx(value, rel=1e-9)
