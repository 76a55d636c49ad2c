"""The renderer comparison: its two distances, and dx7 vs dexed on a few real voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmbench.audio import Audio
from fmbench.render import RenderSettings

pytest.importorskip("dexed")
# fmbench-dexed is a separate distribution: pip install -e plugins/fmbench-dexed
pytest.importorskip("fmbench_dexed")
pytest.importorskip("librosa")
from fmbench_dexed import DexedRenderer  # noqa: E402
from fmbench_dexed.compare import (  # noqa: E402
    compare,
    distribution,
    log_mel_distance,
    rms_envelope_cosine,
)

SYX = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "dx7" / "syx"
SR = 48_000


def tone(freq: float, seconds: float = 1.0, decay: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-decay * t)).astype(np.float32)


def test_identical_and_rescaled_signals_are_at_distance_zero():
    x = tone(440, decay=2.0)
    assert rms_envelope_cosine(Audio(x, SR), Audio(x, SR)) == pytest.approx(1.0, abs=1e-9)
    assert rms_envelope_cosine(Audio(x, SR), Audio(0.1 * x, SR)) == pytest.approx(1.0, abs=1e-6)
    assert log_mel_distance(x, x, SR) == 0.0
    assert log_mel_distance(x, 0.1 * x, SR) < 0.01  # level-normalised


def test_distances_grow_with_difference():
    x = tone(440, decay=2.0)
    near = log_mel_distance(x, tone(445, decay=2.0), SR)
    far = log_mel_distance(x, tone(1760, decay=2.0), SR)
    assert 0 < near < far
    flat = tone(440)
    assert rms_envelope_cosine(Audio(x, SR), Audio(flat, SR)) < 0.95
    silent = np.zeros_like(x)
    assert rms_envelope_cosine(Audio(x, SR), Audio(silent, SR)) == 0.0
    assert np.isfinite(log_mel_distance(x, silent, SR))


def test_distribution_summary():
    d = distribution([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert d["n"] == 4 and d["median"] == 2.5 and d["min"] == 1.0 and d["max"] == 4.0
    assert d["q1"] == pytest.approx(1.75) and d["q3"] == pytest.approx(3.25)
    assert distribution([])["n"] == 0


def test_dx7_reference_mode_is_close_to_dexed_on_real_voices():
    pytest.importorskip("fmbench_plugins.dx7.renderer")
    from fmbench.patch.syx import read_syx
    from fmbench.plugins import get_registry

    if not (SYX / "rom1a.syx").exists():
        pytest.skip("shared DX7 banks not available")
    try:
        dx7 = get_registry().create("renderer", "dx7", fidelity="reference")
    except Exception as exc:  # engine not ready in this checkout
        pytest.skip(f"dx7 renderer unavailable: {exc}")
    patches = read_syx(SYX / "rom1a.syx").to_patches()[:4]
    patches += read_syx(SYX / "rom2a.syx").to_patches()[:4]
    settings = RenderSettings(hold_seconds=1.6, release_seconds=0.8)  # 2.4 s per voice
    result = compare(patches, {"dx7": dx7}, DexedRenderer(), settings)
    cos = distribution(result.cosine["dx7"])
    mel = distribution(result.logmel["dx7"])
    assert cos["n"] == 8 and cos["median"] > 0.9 and cos["min"] > 0.6, result.cosine
    assert mel["median"] < 4.0, result.logmel
    assert not any(result.silent["dexed"]) and not any(result.silent["dx7"])
