"""The ``sine`` option: ``"exact"`` (libm while a feedback loop is chaotic) vs ``"fast"``
(the short-latency table sine everywhere): identity, determinism, finiteness, closeness."""

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
FULL = RenderSettings()


def test_identity_options_and_errors():
    e, f = DX7Renderer(), DX7Renderer(sine="fast")
    assert e.sine == "exact" and e.identity.endswith("/reference/exact")
    assert f.identity == f"dx7/{engine.ENGINE_VERSION}/reference/fast" != e.identity
    assert DX7Renderer("hardware", "fast").identity.endswith("/hardware/fast")
    for r in (e, f):
        assert DX7Renderer(**r.options).identity == r.identity
        assert pickle.loads(pickle.dumps(r)).identity == r.identity
    from fmbench.errors import FmbenchError

    with pytest.raises(FmbenchError, match="sine"):
        DX7Renderer(sine="libm")


def test_registry_passes_the_sine_option():
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    r = get_registry().create(ComponentKind.RENDERER, "dx7", sine="fast")
    assert isinstance(r, DX7Renderer) and r.sine == "fast"


def test_sin_turn_accuracy():
    """Abs. error ≲ 3e−16 of the table sine plus the rounding of x·N/2π (≈ |x|·2^−53)."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-150, 150, 200_000), np.linspace(-7, 7, 10_001)])
    err = np.abs(K.sin_turn_array(x) - np.sin(x))
    assert np.all(err <= 3e-16 + np.abs(x) * 2.0**-52)
    x = np.linspace(-np.pi, np.pi, 4097)
    assert np.abs(K.sin_turn_array(x) - np.sin(x)).max() < 6e-16


def test_turn_table_is_correctly_rounded_and_symmetric():
    mpmath = pytest.importorskip("mpmath")
    tab = K._TURN_TAB
    n = K.TURN_N
    s = tab[:, 0]
    assert s[0] == 0.0 and s[n // 4] == 1.0 and s[n // 2] == 0.0 and s[3 * n // 4] == -1.0
    np.testing.assert_array_equal(s[1 : n // 2], -s[n // 2 + 1 :])
    np.testing.assert_array_equal(tab[:, 1], np.roll(s, -(n // 4)))
    with mpmath.workprec(120):
        ref = [float(mpmath.sin(2 * mpmath.pi * j / n)) for j in range(0, n, 7)]
    np.testing.assert_array_equal(s[::7], ref)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(algorithms_only=True), st.integers(0, 4))
def test_fast_equals_exact_without_chaotic_feedback(d, fb):
    """Feedback ≤ 4 never takes the libm path: both modes run the very same arithmetic."""
    p = Patch.from_dict({**d, "feedback": fb})
    a = DX7Renderer().render_float(p, SHORT)
    b = DX7Renderer(sine="fast").render_float(p, SHORT)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_patch_dicts(), st.sampled_from(["reference", "hardware"]))
def test_fast_mode_finite_bounded_deterministic(d, fidelity):
    p = Patch.from_dict(d)
    r = DX7Renderer(fidelity, sine="fast")
    x = r.render_float(p, SHORT)
    assert len(x) == SHORT.num_samples
    assert np.all(np.isfinite(x)) and np.abs(x).max() < 0.53
    np.testing.assert_array_equal(x, DX7Renderer(fidelity, sine="fast").render_float(p, SHORT))


def test_golden_specs_in_fast_mode(renderer):
    """Spec A (no feedback) and C (feedback 3) are int16-identical in both modes; spec B
    (feedback 7, chaotic) keeps its first samples, peak and loudness but not its waveform."""
    fast = DX7Renderer(sine="fast")
    for spec in (spec_a(), spec_c()):
        np.testing.assert_array_equal(
            fast.render_int16(spec, FULL), renderer.render_int16(spec, FULL)
        )
    a = renderer.render_int16(spec_b(), FULL).astype(np.float64)
    b = fast.render_int16(spec_b(), FULL).astype(np.float64)
    assert b[:10].tolist() == [6726, 9765, 11437, 5143, 3321, 5080, -3147, -746, -9154, -4436]
    assert np.abs(b).max() == 11907
    rms_a, rms_b = np.sqrt(np.mean(a**2)), np.sqrt(np.mean(b**2))
    assert abs(rms_b - rms_a) / rms_a < 2e-3  # measured 1125.42 vs 1125.03
    assert not np.array_equal(a, b)
    # same RMS envelope (2048-sample frames) to within 1e-3 in cosine
    ea = np.sqrt(np.mean(a[: len(a) // 2048 * 2048].reshape(-1, 2048) ** 2, axis=1))
    eb = np.sqrt(np.mean(b[: len(b) // 2048 * 2048].reshape(-1, 2048) ** 2, axis=1))
    assert ea @ eb / (np.linalg.norm(ea) * np.linalg.norm(eb)) > 0.999


def test_fast_mode_same_bytes_for_any_worker_count():
    from fmbench.render import render_batch

    patches = [spec_b(), spec_c(), spec_a()]
    r = DX7Renderer(sine="fast")
    one = [a.content_hash for a in render_batch(patches, SHORT, renderer=r, workers=1)]
    two = [a.content_hash for a in render_batch(patches, SHORT, renderer=r, workers=2)]
    assert one == two == [r.render(p, SHORT).content_hash for p in patches]


def test_exact_until():
    """The libm stretch ends at the first sample whose interpolation frames are all in the
    contracting tail of the feedback operator's gain."""
    n, frames = FULL.segment_samples, FULL.hold_frames + FULL.release_frames
    step = (frames - 1) / (n - 1)
    assert engine.exact_until(engine.prepare(spec_c()), np.ones((6, frames)), n, step) == 0
    v = engine.prepare(spec_b())  # feedback 7 on OP6
    assert v.libm[5] and v.fb_dst == 5
    _, g = engine.frame_gains(v, 100, FULL.hold_frames, FULL.release_frames)
    t = engine.exact_until(v, g, n, step)
    ok = 2 * v.fb_c * np.maximum.accumulate(g[5][::-1])[::-1] <= engine.CONTRACTING_LOOP_GAIN
    first = int(np.argmax(ok))
    assert 0 < t < n and ok[first] and not ok[first - 1]
    assert int(t * step) >= first > int((t - 1) * step)
    # never contracting: the whole render is exact
    assert engine.exact_until(v, np.full((6, frames), 2.0), n, step) == n


def test_float_and_int16_outputs_agree(renderer):
    """The three outputs of the kernel (float64 mix, int16, Audio float32) are one render."""
    for r in (renderer, DX7Renderer(sine="fast")):
        x = r.render_float(spec_b(), SHORT)
        q = r.render_int16(spec_b(), SHORT)
        np.testing.assert_array_equal(q, (x * 32767).astype(np.int16))
        np.testing.assert_array_equal(r.render(spec_b(), SHORT).samples, q / np.float32(32768))


@pytest.mark.parametrize("sample_rate", [8_000, 48_000])
def test_phase_wrap_paths_match_the_oracle(sample_rate):
    """High partials at 8 kHz step ≥ π per sample (the kernel's general wrap loop, no
    phases in the recurrence's shadow); at 48 kHz the single-subtraction path: both equal
    the per-sample transcription of the FM core in int16."""
    from test_engine import _oracle

    d = spec_b().to_dict()
    d["coarse"] = [31, 14, 1, 9, 1, 3]
    d["feedback"] = 4
    p = Patch.from_dict(d)
    s = RenderSettings(sample_rate=sample_rate, hold_seconds=0.3, release_seconds=0.1)
    inc = engine.phase_increments(engine.prepare(p), 60, sample_rate, "reference")
    assert (inc.max() >= np.pi) == (sample_rate == 8_000)
    x = DX7Renderer().render_float(p, s)
    ref = _oracle(p, s)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-9)
    q = np.abs((x * 32767).astype(np.int16).astype(int) - (ref * 32767).astype(np.int16))
    assert q.max() <= 1
