"""RMS-envelope cosine (docs/metrics.md#rms): librosa agreement, edge cases, metadata."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fmbench_plugins.rms.envelope import RmsCosine, envelope_cosine, rms_envelope

from fmbench.audio import Audio
from fmbench.contracts import Sample

SR = 48_000


def _tone(seconds: float = 1.0, f: float = 440.0, decay: float = 3.0, sr: int = SR) -> Audio:
    t = np.arange(int(seconds * sr)) / sr
    return Audio((0.5 * np.exp(-decay * t) * np.sin(2 * np.pi * f * t)).astype(np.float32), sr)


def _sample(audio, ref) -> Sample:
    return Sample("x", "c", audio=audio, reference_audio=ref)


@pytest.mark.parametrize("n", [0, 1, 511, 512, 2047, 2048, 5000, 44_100])
def test_envelope_matches_librosa_feature_rms(n):
    librosa = pytest.importorskip("librosa")
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.3
    ours = rms_envelope(y)
    ref = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
    assert ours.shape == ref.shape == (1 + n // 512,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_cosine_matches_a_librosa_pipeline_to_1e_6():
    """The original computation: librosa's default resampler (soxr_hq) + feature.rms."""
    librosa = pytest.importorskip("librosa")
    a, b = _tone(2.0, 440, 2.0), _tone(1.5, 660, 6.0)

    def seed(audio):
        y = librosa.resample(audio.samples, orig_sr=SR, target_sr=44_100, res_type="soxr_hq")
        return librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0].astype(np.float64)

    ea, eb = seed(a), seed(b)
    n = min(len(ea), len(eb))
    expected = float(ea[:n] @ eb[:n] / (np.linalg.norm(ea[:n]) * np.linalg.norm(eb[:n]) + 1e-12))
    got = RmsCosine().score([_sample(a, b)]).per_sample["rms"][0]
    assert got == pytest.approx(expected, abs=1e-6)
    assert 0.0 < got < 1.0


def test_identical_and_scaled_clips_score_one():
    a = _tone()
    r = RmsCosine().score([_sample(a, a), _sample(Audio(a.samples * 0.5, SR), a)])
    np.testing.assert_allclose(r.per_sample["rms"], [1.0, 1.0], atol=1e-9)


def test_silence_gives_zero_and_empty_or_missing_gives_nan_with_reason():
    a = _tone()
    silent = Audio(np.zeros(SR, dtype=np.float32), SR)
    empty = Audio(np.zeros(0, dtype=np.float32), SR)
    nan = Audio(np.full(100, np.nan, dtype=np.float32), SR)
    r = RmsCosine().score(
        [
            _sample(silent, a),
            _sample(silent, silent),
            _sample(empty, a),
            _sample(a, None),
            _sample(nan, a),
        ]
    )
    v = r.per_sample["rms"]
    assert v[0] == 0.0 and v[1] == 0.0
    assert np.isnan(v[2:]).all()
    assert "empty" in r.reasons[("rms", 2)]
    assert r.reasons[("rms", 3)] == "no reference audio"
    assert "NaN" in r.reasons[("rms", 4)]
    assert r.details["n_nan"] == 3


def test_different_rates_lengths_and_channels():
    a = _tone(1.0, sr=SR)
    a22 = a.resample(22_050)
    stereo = Audio(np.stack([a.samples, a.samples]), SR)  # Audio averages channels to mono
    short = Audio(a.samples[:4800], SR)  # 0.1 s: cut to the shorter envelope
    r = RmsCosine().score([_sample(a22, a), _sample(stereo, a), _sample(short, a)])
    v = r.per_sample["rms"]
    assert v[0] == pytest.approx(1.0, abs=1e-3)
    assert v[1] == pytest.approx(1.0, abs=1e-9)
    assert v[2] == pytest.approx(1.0, abs=1e-2)
    assert envelope_cosine(np.ones(3), np.ones(10)) == pytest.approx(1.0)
    assert not math.isnan(envelope_cosine(np.zeros(1), np.zeros(1)))


def test_registered_metadata():
    from fmbench.plugins import Plugins

    reg = Plugins(only=["rms"]).registry
    info = reg.get("metric", "rms_cosine")
    assert info.name == "rms" and info.direction == "higher"
    assert info.metric_kind == "paired_audio"
    assert {str(n) for n in info.needs} == {"audio", "reference_audio"}
    assert reg.create("metric", "rms").identity.startswith("rms@")
