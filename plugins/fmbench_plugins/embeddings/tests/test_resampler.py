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
def test_resampler_matches_score_on_the_resampled_list(metric, block, monkeypatch):
    import fmbench_plugins.embeddings.distribution as dist

    monkeypatch.setattr(dist, "_BLOCK", block)
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
