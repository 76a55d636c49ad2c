"""The ``dexed`` renderer: audibility by operator, determinism, settings, registration."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fmbench.audio import Audio
from fmbench.contracts import Renderer, RenderSettings
from fmbench.patch.model import Patch
from fmbench.testing.patches import patch_dict

pytest.importorskip("dexed")
# fmbench-dexed is a separate distribution: pip install -e plugins/fmbench-dexed
pytest.importorskip("fmbench_dexed")
from fmbench_dexed import DexedRenderer  # noqa: E402
from fmbench_dexed.convert import UnsupportedTopologyError  # noqa: E402

SHORT = RenderSettings(hold_seconds=0.2, release_seconds=0.1)


def simple_patch(alg: int, loud_slot: int, **changes) -> Patch:
    """All operators quiet except the one in ``loud_slot`` (slot 5 = OP1, slot 0 = OP6)."""
    data = patch_dict(alg, ol=[99 if s == loud_slot else 0 for s in range(6)])
    data.update(changes)
    return Patch.from_dict(data)


def test_is_a_renderer_with_versioned_identity():
    r = DexedRenderer()
    assert isinstance(r, Renderer) and r.name == "dexed"
    assert "dexed-py 0.3.0" in r.identity and "level=seed" in r.identity
    assert DexedRenderer(level="raw").identity != r.identity
    with pytest.raises(ValueError, match="level"):
        DexedRenderer(level="loud")


def test_carrier_op1_is_audible_and_modulator_op6_alone_is_silent():
    r = DexedRenderer()
    op1 = r.render(simple_patch(1, loud_slot=5), SHORT)  # OP1 is a carrier in algorithm 1
    op6 = r.render(simple_patch(1, loud_slot=0), SHORT)  # OP6 only modulates quiet OPs
    assert 0.2 < op1.peak <= 0.25  # level="seed": full carrier gain 2 / (4 × 2 carriers)
    assert op6.peak < 1e-3 * op1.peak
    # OP1 at ratio 1 plays note 60: its spectrum peaks at 261.6 Hz
    x = op1.samples[: int(0.2 * 48000)]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.argmax(spec) * 48000 / len(x)
    assert abs(f - 261.63) < 6


def test_raw_level_keeps_dexed_gain_and_seed_divides_by_carriers():
    patch = simple_patch(32, loud_slot=5)  # six carriers, only OP1 loud
    raw = DexedRenderer(level="raw").render(patch, SHORT)
    seed = DexedRenderer().render(patch, SHORT)
    assert 0.9 < raw.peak <= 1.0
    assert seed.peak == pytest.approx(raw.peak * 2 / (4 * 6), rel=1e-3)


def test_transpose_and_coarse_change_pitch():
    r = DexedRenderer()
    base = simple_patch(1, loud_slot=5)
    n = int(0.2 * 48000)

    def pitch(p: Patch) -> float:
        x = r.render(p, SHORT).samples[:n]
        return np.argmax(np.abs(np.fft.rfft(x * np.hanning(n)))) * 48000 / n

    f0 = pitch(base)
    assert pitch(base.replace(transpose=12)) == pytest.approx(2 * f0, rel=0.03)
    assert pitch(base.replace(coarse=[1, 1, 1, 1, 1, 3])) == pytest.approx(3 * f0, rel=0.03)


def test_deterministic_across_calls_and_instances():
    patch = simple_patch(5, loud_slot=5, feedback=7, ol=[99, 80, 70, 90, 60, 99])
    a = DexedRenderer().render(patch, SHORT)
    other = simple_patch(1, loud_slot=0)
    r = DexedRenderer()
    r.render(other, SHORT)  # state of a previous render must not leak
    b = r.render(patch, SHORT)
    assert a == b and a.content_hash == b.content_hash


def test_default_settings_length_and_release():
    audio = DexedRenderer().render(simple_patch(1, loud_slot=5), RenderSettings())
    assert isinstance(audio, Audio)
    assert len(audio) == 460_800 and audio.sample_rate == 48_000
    x = np.abs(audio.samples)
    assert x[300_000:307_000].max() > 0.2  # key held until 6.4 s
    assert x[320_000:].max() < 1e-3  # rate-99 release is over shortly after 6.4 s
    assert x[:300].max() > 0.01  # rate-99 attack: sound from the start


def test_settings_are_respected():
    s = RenderSettings(
        sample_rate=44_100, notes=(48, 72), velocities=(40, 127), hold_seconds=0.1,
        release_seconds=0.05, quantize_int16=False,
    )  # fmt: skip
    patch = simple_patch(1, loud_slot=5, sensitivity=[0, 0, 0, 0, 0, 7])
    audio = DexedRenderer().render(patch, s)
    assert audio.sample_rate == 44_100 and len(audio) == s.num_samples == 4 * s.segment_samples
    seg = audio.samples.reshape(4, s.segment_samples)
    peaks = np.abs(seg).max(axis=1)
    assert peaks[1] > 2 * peaks[0] and peaks[3] > 2 * peaks[2]  # velocity 127 louder than 40
    # quantisation: int16 steps of trunc(x * 32767) / 32768
    q = DexedRenderer().render(patch, RenderSettings(hold_seconds=0.1, release_seconds=0.05))
    assert np.array_equal(q.samples * 32768, np.round(q.samples * 32768))


def test_non_dx7_topology_errors_clearly():
    data = simple_patch(1, loud_slot=5).to_dict()
    data["outmatrix"] = [1, 1, 1, 1, 1, 1]
    with pytest.raises(UnsupportedTopologyError, match="32 DX7 algorithms"):
        DexedRenderer().render(Patch.from_dict(data), SHORT)


def test_pickles_for_worker_processes():
    r = DexedRenderer(level="raw")
    patch = simple_patch(1, loud_slot=5)
    before = r.render(patch, SHORT)
    clone = pickle.loads(pickle.dumps(r))
    assert clone.level == "raw" and clone.render(patch, SHORT) == before


def test_registered_through_the_entry_point():
    from fmbench.plugins import Plugins

    plugins = Plugins(only=["dexed"], strict=True)
    info = plugins.registry.get("renderer", "dexed")
    assert info.requires == ("dexed",) and info.available
    renderer = plugins.registry.create("renderer", "dexed")
    assert isinstance(renderer, DexedRenderer)
