"""Engine behaviour: EG arithmetic, the fast kernel against the exact per-sample
oracle, sin accuracy, multi-note/velocity segments, sample rates, fidelity modes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from _dx7_specs import spec_a, spec_b, spec_c
from fmbench_plugins.dx7 import _kernels as K
from fmbench_plugins.dx7 import engine
from fmbench_plugins.dx7.renderer import DX7Renderer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench.testing.strategies import valid_patch_dicts

SHORT = RenderSettings(hold_seconds=0.16, release_seconds=0.08)  # 120 + 60 frames


def _one_op_levels(rate_attack=99, rate_release=99, frames_on=4800, frames_off=2400):
    rates = np.array([[rate_attack, 99, 99, rate_release]] * 6, dtype=np.int64)
    levels = np.array([[99, 99, 99, 0]] * 6, dtype=np.int64)
    out = np.full(6, engine.operator_out_level(99, 100, 0), dtype=np.int64)
    return K.eg_levels(rates, levels, out, frames_on, frames_off)[0]


@pytest.mark.parametrize(
    "rate,frames", [(99, 0), (90, 0), (80, 3), (70, 13), (60, 38), (50, 117), (40, 379), (30, 1086)]
)
def test_measured_attack_times(rate, frames):
    """Attack frames after frame 0 until full level (0 = full in the first frame), as in
    docs/renderer.md#envelope-generator."""
    lam = _one_op_levels(rate_attack=rate)
    full = 3840 << 16
    assert lam[frames] == full and np.all(lam[:frames] < full)


@pytest.mark.parametrize("rate,frames", [(99, 4), (80, 34), (60, 318), (50, 955), (40, None)])
def test_measured_release_times(rate, frames):
    lam = _one_op_levels(rate_release=rate)
    release = lam[4801:]
    floor = 16 << 16
    if frames is None:
        assert not np.any(release == floor)
    else:
        assert release[frames] == floor and np.all(release[:frames] > floor)


def test_velocity_and_level_tables():
    assert engine.scale_output_level(99) == 127 and engine.scale_output_level(19) == 46
    assert [engine.velocity_offset(100, s) for s in (0, 1, 7)] == [0, 16, 16]
    assert [engine.velocity_offset(127, s) for s in (1, 3, 7)] == [32, 96, 224]
    assert [engine.velocity_offset(64, s) for s in (1, 7)] == [-64, -448]
    assert [engine.velocity_offset(0, s) for s in (1, 7)] == [-464, -3344]
    assert engine.operator_out_level(0, 0, 7) == 0  # clamped at 0


def test_gain_extremes():
    v = engine.prepare(spec_a())
    lam, g = engine.frame_gains(v, 100, 4800, 2400)
    assert g[0, 0] == 2.0  # full level, sensitivity 0
    assert g[1, 0] == pytest.approx(6.3737e-5, rel=1e-4)  # ol 0 still has the floor gain
    assert np.all(g > 0)


def test_interpolation_matches_numpy_interp():
    """The kernel's per-sample gain is numpy.interp(linspace(0, F-1, N), arange(F), gains).

    A lone carrier with phase step 2^-1000 has sin(θ) = θ = (t+1)·2^-1000 exactly, so the
    output divided by the phase recovers the gain (to 1 ulp)."""
    v = engine.prepare(spec_b())
    _, g = engine.frame_gains(v, 100, 120, 60)
    n = 64 * 180
    tiny = 2.0**-1000
    out = np.empty(n)
    n_bad = K.render_fast(
        np.array([0]),
        np.zeros(7, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.full(6, tiny),
        g,
        -1,
        0.0,
        np.array([0]),
        np.zeros(6, dtype=np.bool_),
        0,
        n,
        179 / (n - 1),
        engine.BLOCK,
        1.0,
        out,
        0,
        0,
    )
    assert n_bad == 0
    gain = out / (np.arange(1, n + 1) * tiny)
    ref = np.interp(np.linspace(0, 179, n), np.arange(180.0), g[0])
    np.testing.assert_allclose(gain, ref, rtol=4e-16, atol=0)
    assert gain[-1] == ref[-1] == g[0, -1]


def test_sin_accuracy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-200, 200, 200_000), np.linspace(-7, 7, 10_001)])
    got = K.sin_array(x)
    ref = np.sin(x)
    ulp = np.spacing(np.abs(ref)).clip(min=np.finfo(float).tiny)
    assert np.max(np.abs(got - ref) / ulp) <= 1.0 + 1e-9 or np.max(np.abs(got - ref)) < 3e-16


def _oracle(patch: Patch, s: RenderSettings) -> np.ndarray:
    voice = engine.prepare(patch)
    _, gains = engine.frame_gains(voice, s.velocities[0], s.hold_frames, s.release_frames)
    inc = engine.phase_increments(voice, s.notes[0], s.sample_rate, "reference")
    n = s.segment_samples
    mix = K.render_general(
        voice.modmatrix,
        inc,
        gains,
        voice.fb_src,
        voice.fb_dst,
        voice.fb_c,
        voice.outmatrix,
        n,
        float(s.hold_frames + s.release_frames - 1) / float(n - 1),
    )
    return mix / (4.0 * voice.n_carriers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(algorithms_only=True))
def test_fast_kernel_matches_exact_oracle(d):
    """The block kernel equals the per-sample transcription of the FM core (libm sin):
    bit-for-bit where libm is used, within last-ulp noise elsewhere — never 2 int16 steps."""
    p = Patch.from_dict(d)
    fast = DX7Renderer().render_float(p, SHORT)
    ref = _oracle(p, SHORT)
    assert np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9)
    qi = np.abs((fast * 32767).astype(np.int16).astype(int) - (ref * 32767).astype(np.int16))
    assert qi.max() <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(), st.sampled_from(["reference", "hardware"]))
def test_any_topology_renders_finite(d, fidelity):
    p = Patch.from_dict(d)
    x = DX7Renderer(fidelity).render_float(p, SHORT)
    assert len(x) == SHORT.num_samples
    assert np.all(np.isfinite(x)) and np.abs(x).max() < 0.53


def test_non_dx7_topology_uses_visit_order(renderer):
    # OP1 modulates OP2 (a "back" edge): the general kernel is used and equals the oracle
    d = spec_b().to_dict()
    d["modmatrix"] = [[0] * 6 for _ in range(6)]
    d["modmatrix"][1][0] = 1
    d["outmatrix"] = [0, 1, 0, 0, 0, 0]
    p = Patch.from_dict(d)
    assert not engine.prepare(p).fast
    np.testing.assert_array_equal(renderer.render_float(p, SHORT), _oracle(p, SHORT))


def test_deterministic(renderer):
    p = spec_c()
    a = renderer.render(p, SHORT)
    b = DX7Renderer().render(p, SHORT)
    assert a.content_hash == b.content_hash


def test_multi_note_velocity_segments(renderer):
    p = spec_c()
    multi = RenderSettings(
        hold_seconds=0.16, release_seconds=0.08, notes=(48, 72), velocities=(30, 127)
    )
    x = renderer.render_int16(p, multi)
    assert len(x) == multi.num_samples == 4 * SHORT.segment_samples
    seg = SHORT.segment_samples
    order = [(48, 30), (48, 127), (72, 30), (72, 127)]  # notes outer, velocities inner
    for i, (n, v) in enumerate(order):
        single = RenderSettings(
            hold_seconds=0.16, release_seconds=0.08, notes=(n,), velocities=(v,)
        )
        np.testing.assert_array_equal(x[i * seg : (i + 1) * seg], renderer.render_int16(p, single))
    # velocity sensitivity 7 on a carrier (OP5): louder at 127 than at 30
    assert np.abs(x[seg : 2 * seg]).max() > np.abs(x[:seg]).max()


def test_other_sample_rate(renderer):
    s = RenderSettings(sample_rate=22_050, hold_seconds=0.2, release_seconds=0.1)
    audio = renderer.render(spec_a(), s)
    assert audio.sample_rate == 22_050 and len(audio) == s.num_samples
    assert audio.peak == pytest.approx(2731 / 32768, abs=2 / 32768)


def test_float_output_without_quantisation(renderer):
    s = RenderSettings(hold_seconds=0.16, release_seconds=0.08, quantize_int16=False)
    a = renderer.render(spec_a(), s)
    q = renderer.render(spec_a(), SHORT)
    assert np.abs(a.samples - q.samples).max() < 2 / 32768


def test_identity_and_pickle():
    r = DX7Renderer("hardware")
    assert r.identity == f"dx7/{engine.ENGINE_VERSION}/hardware/exact"
    assert DX7Renderer().identity.endswith("/reference/exact")
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.identity == r.identity and DX7Renderer(**r.options).identity == r.identity
    from fmbench.errors import FmbenchError

    with pytest.raises(FmbenchError, match="fidelity"):
        DX7Renderer("exact")


def test_registered_renderer():
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    r = get_registry().create(ComponentKind.RENDERER, "dx7", fidelity="hardware")
    assert isinstance(r, DX7Renderer) and r.fidelity == "hardware"


def test_hardware_frequencies():
    p = spec_c()
    hw = engine.frequencies(p, "hardware", 60)
    assert hw[5] == pytest.approx(10**2.5)  # OP6 fixed: 10^(coarse mod 4 + fine/100)
    ref = engine.frequencies(p, "reference")
    assert ref[2] == hw[2]  # OP3: detune 0, ratio mode: same
    # detune +7 on OP2 (slot 4): reference 7 cents; hardware pitch-dependent, smaller
    # for a high note than for a low one
    cents = lambda a, b: 1200 * np.log2(a / b)  # noqa: E731
    base = engine.frequencies(p.replace(detune=[0] * 6), "hardware", 60)
    lo = (
        engine.frequencies(p, "hardware", 36)[1]
        / engine.frequencies(p.replace(detune=[0] * 6), "hardware", 36)[1]
    )
    hi = (
        engine.frequencies(p, "hardware", 96)[1]
        / engine.frequencies(p.replace(detune=[0] * 6), "hardware", 96)[1]
    )
    assert cents(hw[1], base[1]) > 0 and cents(lo, 1) > cents(hi, 1) > 0


def test_hardware_alg4_feedback_loop():
    d = spec_b().to_dict()
    from fmbench.patch.algorithms import algorithm

    a = algorithm(4)
    d["modmatrix"] = [list(r) for r in a.modmatrix]
    d["outmatrix"] = list(a.outmatrix)
    p = Patch.from_dict(d)
    v = engine.prepare(p, "hardware")
    assert (v.fb_src, v.fb_dst) == (3, 5) and not v.fast
    hw = DX7Renderer("hardware").render_float(p, SHORT)
    ref = DX7Renderer().render_float(p, SHORT)
    assert np.all(np.isfinite(hw)) and not np.array_equal(hw, ref)


@pytest.mark.slow
def test_shared_banks_match_exact_oracle():
    """All 256 shared voices, full 9.6 s: the fast engine equals the libm oracle in int16
    (measured: identical on all 256; ±1 LSB is tolerated as last-ulp sin noise)."""
    from _dx7_specs import SYX_DIR

    syx = pytest.importorskip("fmbench.patch.syx")
    files = sorted(SYX_DIR.glob("*.syx"))
    if not files:
        pytest.skip("shared DX7 banks not available")
    s = RenderSettings()
    r = DX7Renderer()
    worst = 0
    for path in files:
        for patch in syx.read_syx(path).to_patches():
            a = r.render_int16(patch, s).astype(np.int64)
            b = (_oracle(patch, s) * 32767).astype(np.int16).astype(np.int64)
            d = np.abs(a - b)
            assert d.max() <= 1, path
            worst = max(worst, int(np.count_nonzero(d)))
    assert worst == 0
