"""The weight-free embedders: shapes, determinism, rates, silence, filterbank."""

from __future__ import annotations

import numpy as np
import pytest
from fmbench_plugins.embeddings.features import (
    LogMelEmbedder,
    MfccEmbedder,
    dct_matrix,
    mel_filterbank,
)

from fmbench.audio import Audio


def _clip(seconds=9.6, sr=48_000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-t) + 0.01 * rng.standard_normal(len(t))
    return Audio(y.astype(np.float32), sr)


@pytest.mark.parametrize("cls,dim", [(MfccEmbedder, 80), (LogMelEmbedder, 128)])
def test_shapes_frames_and_determinism(cls, dim):
    e = cls()
    a = _clip()
    x = e.embed(a)
    assert e.dim == dim and x.shape == (9, dim) and x.dtype == np.float32
    assert e.frames(len(a), a.sample_rate) == 9
    assert np.array_equal(x, cls().embed(_clip()))
    assert e.sample_rate == 16_000 and e.name in e.identity


@pytest.mark.parametrize("cls", [MfccEmbedder, LogMelEmbedder])
def test_short_silent_and_other_rates(cls):
    e = cls()
    for n in (1, 399, 400, 5000):
        x = e.embed(Audio(np.zeros(n, np.float32), 48_000))
        assert x.shape == (1, e.dim) and np.isfinite(x).all()
        assert e.frames(n, 48_000) == 1
    a48, a44 = _clip(2.0, 48_000), _clip(2.0, 44_100)
    x48, x44 = e.embed(a48), e.embed(a44)
    assert x48.shape == x44.shape == (2, e.dim)
    np.testing.assert_allclose(x48[:, : e.dim // 2], x44[:, : e.dim // 2], rtol=0.05, atol=0.3)
    with pytest.raises(ValueError):
        e.embed(Audio(np.zeros(0, np.float32), 16_000))


def test_filterbank_and_dct_match_reference_implementations():
    scipy_fft = pytest.importorskip("scipy.fft")
    x = np.random.default_rng(1).standard_normal((5, 40))
    np.testing.assert_allclose(
        x @ dct_matrix(40, 20), scipy_fft.dct(x, type=2, norm="ortho", axis=1)[:, :20], atol=1e-12
    )
    librosa = pytest.importorskip("librosa")
    ref = librosa.filters.mel(
        sr=16_000, n_fft=512, n_mels=64, fmin=125, fmax=7500, htk=True, norm=None
    )
    np.testing.assert_allclose(mel_filterbank(64, 125.0, 7500.0), ref.T, atol=1e-6)


def test_registered_embedders():
    from fmbench.plugins import Plugins

    reg = Plugins(only=["embeddings"]).registry
    ours = [n for n in reg.names("embedder") if reg.get("embedder", n).plugin == "embeddings"]
    assert ours == ["logmel", "mfcc"]
    assert reg.create("embedder", "mfcc").dim == 80
