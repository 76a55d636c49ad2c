"""Tests for the AC timbral metrics: shim, formulas, fast-vs-models agreement, bad input."""

from __future__ import annotations

import importlib.util
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from fmbench_plugins.timbral import audiocommons as fast
from fmbench_plugins.timbral.metric import KEYS, TimbralMetric, distances, normalise

from fmbench.audio import Audio
from fmbench.contracts import Sample

HAVE_MODELS = importlib.util.find_spec("timbral_models") is not None
needs_models = pytest.mark.skipif(
    not HAVE_MODELS,
    reason="timbral-models not installed (pip install --no-deps timbral-models==0.4.0 six)",
)
SYX = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "dx7" / "syx"


def fm_tone(seconds=1.5, sr=48_000, f0=220.0, index=3.0, decay=2.0, ratio=2.0, seed=0):
    """A decaying two-operator FM tone with a little noise (deterministic)."""
    t = np.arange(int(seconds * sr)) / sr
    env = np.exp(-decay * t) * np.minimum(1.0, t / 0.01)
    mod = index * np.exp(-decay * 2 * t) * np.sin(2 * np.pi * f0 * ratio * t)
    y = 0.4 * env * np.sin(2 * np.pi * f0 * t + mod)
    y += 1e-3 * np.random.default_rng(seed).standard_normal(len(t)) * env
    return y


def models_extract(x, sr):
    from fmbench_plugins.timbral.metric import _models_extract

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _models_extract(np.asarray(x, dtype=np.float64), sr)


# ------------------------------------------------------------------------------ shim


@needs_models
def test_shim_makes_timbral_models_compute_all_attributes():
    import librosa
    import timbral_models.Timbral_Hardness as hard_mod
    import timbral_models.timbral_util as util_mod

    out = models_extract(fm_tone(1.0, 44_100), 44_100)
    assert list(out) == list(KEYS)
    assert all(math.isfinite(v) for v in out.values())
    assert all(0.0 <= out[k] <= 100.0 for k in KEYS[:7]) and out["reverb"] in (0.0, 1.0)
    # scoped: the real modules are back in place and untouched
    assert hard_mod.np is np and hard_mod.librosa is librosa and util_mod.librosa is librosa
    assert not hasattr(np.lib, "pad")


@needs_models
def test_shim_restores_modules_after_an_error():
    import librosa
    import timbral_models.timbral_util as util_mod
    from fmbench_plugins.timbral.compat import patched

    with pytest.raises(ValueError), patched() as tm:
        assert util_mod.librosa is not librosa
        tm.timbral_extractor(np.zeros(1000), fs=44_100, verbose=False)  # silence raises
    assert util_mod.librosa is librosa


@needs_models
def test_shim_upsampling_path_uses_keyword_resample():
    from fmbench_plugins.timbral.compat import patched

    with patched() as tm:
        y, sr = tm.timbral_util.check_upsampling(np.sin(np.arange(2205) * 0.1), 22_050)
    assert sr == 44_100 and abs(len(y) - 4410) <= 1


# -------------------------------------------------------------------------- formulas


def test_distances_match_hand_computed_values():
    a = np.array([50, 20, 80, 0, 40, 60, 10, 1], dtype=float)
    b = np.array([30, 20, 100, 10, 40, 50, 30, 0], dtype=float)
    # ÷100 for the first seven: d = [.2, 0, -.2, -.1, 0, .1, -.2, 1]
    l1, mse, cos = distances(a, b)
    assert l1 == pytest.approx((0.2 + 0 + 0.2 + 0.1 + 0 + 0.1 + 0.2 + 1) / 8)
    assert mse == pytest.approx((0.04 + 0.04 + 0.01 + 0.01 + 0.04 + 1) / 8)
    av, bv = a / 100, b / 100
    av[7], bv[7] = 1, 0
    expected_cos = av @ bv / (np.linalg.norm(av) * np.linalg.norm(bv) + 1e-12)
    assert cos == pytest.approx(expected_cos)


def test_nan_attributes_count_as_zero_and_zero_vectors_are_safe():
    a = np.array([np.nan] * 8)
    b = np.array([100, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    assert normalise(a).tolist() == [0.0] * 8
    l1, mse, cos = distances(a, b)
    assert l1 == pytest.approx(2 / 8) and mse == pytest.approx(2 / 8) and cos == 0.0
    assert distances(a, a) == (0.0, 0.0, 0.0)


# ----------------------------------------------------------------- fast vs models


CLIPS = {
    "bell": dict(f0=440.0, index=5.0, decay=1.5, ratio=3.5),
    "bass": dict(f0=55.0, index=2.0, decay=0.8, ratio=1.0),
    "pluck": dict(f0=196.0, index=8.0, decay=6.0, ratio=2.0),
}


@needs_models
@pytest.mark.parametrize("name", sorted(CLIPS))
def test_fast_agrees_with_timbral_models(name):
    x = fm_tone(2.0, **CLIPS[name])
    ref = models_extract(x, 48_000)
    ours = fast.extract(x, 48_000)
    for k in KEYS[:7]:
        assert ours[k] == pytest.approx(ref[k], abs=1e-4), k
    assert ours["reverb"] == ref["reverb"]


@needs_models
@pytest.mark.slow
def test_fast_agrees_with_timbral_models_on_the_256_shared_voices():
    from fmbench.patch.syx import read_syx
    from fmbench.plugins import get_registry
    from fmbench.render import RenderSettings

    renderer = get_registry().create("renderer", "dx7")
    diffs = []
    for path in sorted(SYX.glob("*.syx")):
        for voice in read_syx(path):
            audio = renderer.render(voice.to_patch(), RenderSettings())
            x = audio.samples.astype(np.float64)
            try:
                ref = models_extract(x, audio.sample_rate)
            except Exception:  # noqa: BLE001 - then ours must fail as well
                with pytest.raises(Exception):  # noqa: B017
                    fast.extract(x, audio.sample_rate)
                continue
            ours = fast.extract(x, audio.sample_rate)
            diffs.append([ours[k] - ref[k] for k in KEYS])
    d = np.abs(np.array(diffs))
    assert len(d) > 200
    assert d[:, :7].max() <= 1e-4  # benchmarks/perf/timbral_speed.py --agreement prints them
    assert not d[:, 7].any()


def test_fast_is_deterministic():
    x = fm_tone(1.0, 44_100, f0=330.0)
    assert fast.extract(x, 44_100) == fast.extract(x.copy(), 44_100)


def test_fast_median_filter_equals_scipy():
    from scipy.ndimage import median_filter

    a = np.random.default_rng(1).random((40, 57))
    a[3, :] = 0.5  # ties
    for axis, size in ((1, (1, 31)), (0, (31, 1))):
        expected = median_filter(a, size=size, mode="reflect")
        np.testing.assert_array_equal(fast.median_filter_axis(a, 31, axis), expected)
    short = np.random.default_rng(2).random((3, 7))  # shorter than the kernel: folds again
    np.testing.assert_array_equal(
        fast.median_filter_axis(short, 31, 1), median_filter(short, size=(1, 31), mode="reflect")
    )


@pytest.mark.parametrize("n", [1, 16, 31, 40, 200])
@pytest.mark.parametrize("cols", [1, 63, 64, 65, 130])
def test_fast_median_filter_lanes_and_ties(n, cols):
    """Columns run in lock-step a vector's width at a time: widths around it, windows
    longer than the filtered axis (``n``; not 2 or 3 values, whose reflection scipy reads
    partly outside the line: NaN or another value now and then), repeated values and
    exact zeros."""
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(n * 1000 + cols)
    for axis, size in ((0, (31, 1)), (1, (1, 31))):
        shape = (n, cols) if axis == 0 else (cols, n)
        for a in (rng.random(shape), np.round(rng.random(shape) * 3) / 3):
            a[rng.random(a.shape) < 0.3] = 0.0
            expected = median_filter(a, size=size, mode="reflect")
            np.testing.assert_array_equal(fast.median_filter_axis(a, 31, axis), expected)


def test_fast_transforms_equal_librosa():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(4)
    for n in (100, 2047, 2048, 5000, 48_000):
        x = rng.standard_normal(n) * np.exp(-np.arange(n) / 9000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa: n_fft too large for the short ones
            D = librosa.stft(x)
        Z = fast.stft_frames(x)
        np.testing.assert_allclose(Z, D.T, rtol=0, atol=1e-12 * np.abs(D).max())
        for length in (512 * (Z.shape[0] - 1), n, 3000):
            np.testing.assert_allclose(
                fast.istft_frames(Z * 0.3, length),
                librosa.istft(D * 0.3, length=length),
                rtol=0,
                atol=1e-12,
            )
        for fs in (44_100, 48_000, 96_000):
            basis = librosa.filters.mel(sr=fs, n_fft=2048, fmax=fs / 2)
            np.testing.assert_allclose(fast._mel_basis(fs).toarray(), basis, rtol=1e-6, atol=1e-12)
            mel = basis.astype(np.float64) @ (np.abs(D) ** 2)
            expected = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=fs)
            np.testing.assert_allclose(fast._onset_strength(x, fs, Z), expected, atol=1e-9)


def test_fast_extract_does_not_import_librosa():
    """librosa's import compiles a dozen numba kernels into an empty JIT cache (~15 s)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from fmbench_plugins.timbral.audiocommons import extract\n"
        "t = np.arange(48000) / 48000\n"
        "extract(np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t), 48000)\n"
        "print('librosa' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_roughness_kernel_equals_peak_picking_and_pair_sums():
    """The compiled per-frame roughness is detect_peaks + the models' Plomp–Levelt sum."""
    rng = np.random.default_rng(5)
    spec = np.abs(rng.standard_normal((30, 257))) ** 3
    spec[4] = 0.0  # no candidate at all
    spec[5, ::7] = 2.0  # plateaus and ties
    freq = np.linspace(0, 24_000, spec.shape[1])
    norm = (spec - spec.min()) / (spec.max() - spec.min())
    got = fast._peak_kernels()[1](spec, spec.min(), spec.max(), freq, 0.01)
    for i in range(len(spec)):
        _, level, pf = fast.detect_peaks(norm[i], freq=freq, cthr=0.01, raw=spec[i])
        expected = 0.0
        if len(pf) > 1:
            f = np.asarray(pf)[None, :].repeat(len(pf), 0)
            v = np.asarray(level)[None, :].repeat(len(level), 0)
            s = np.tril(0.24 / (0.0207 * np.minimum(f.T, f) + 18.96))
            d = np.abs(f - f.T)
            plomp = np.exp(-3.51 * s * d) - np.exp(-5.75 * s * d)
            expected = np.sum(((v.T * v) ** 0.1) * (0.5 * ((2 * v) / (v.T + v)) ** 3.11) * plomp)
        assert got[i] == pytest.approx(expected, rel=1e-12, abs=1e-300), i


def test_compiled_iir_equals_scipy_lfilter_column_by_column():
    from scipy.signal import lfilter

    rng = np.random.default_rng(7)
    x = rng.standard_normal((700, 9))
    x[:, 3] = 0.0  # a silent column
    top, designs, (c, d) = fast._third_octave_filters(48_000.0)
    for b, a in [designs[top], designs[24], (c, d)]:
        y, energy, peak = fast._iir_kernel()(b, a, x, True)
        expected = lfilter(b, a, x, axis=0)
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_allclose(energy, (expected**2).sum(axis=0), rtol=1e-12)
        np.testing.assert_array_equal(peak, expected.max(axis=0))
        assert fast._iir_kernel()(b, a, x, False)[0].shape == (0, 9)


def test_compiled_butterworth_cascades_equal_scipy_sosfilt():
    from scipy.signal import butter, sosfilt

    x = fm_tone(0.5, 48_000)
    bands = ((2000, "low"), (500, "low"), (2000, "high"), (20, "high"))
    got = fast._butter_cascades(x, 48_000, *bands)
    for k, (crossover, btype) in enumerate(bands):
        b, a = butter(2, crossover / 24_000, btype)
        expected = sosfilt(np.tile(np.concatenate([b, a]), (3, 1)), x)
        np.testing.assert_array_equal(got[:, k], expected)


def test_compiled_specific_loudness_equals_the_per_window_reference():
    from fmbench_plugins.timbral.tests._zwicker_reference import zwicker_window

    rng = np.random.default_rng(6)
    rows = [fast._band_levels(fast._windows(fm_tone(1.5, **CLIPS[k])), 48_000) for k in CLIPS]
    noise = rng.uniform(-20, 125, (200, 28))
    noise[::17, rng.integers(0, 28, 12)] = -np.inf  # silent bands
    noise[5] = -np.inf  # a silent window
    levels = np.concatenate(rows + [noise])
    total, spec = fast.specific_loudness(levels)
    for i, p in enumerate(levels):
        n_ref, s_ref = zwicker_window(p)
        assert total[i] == n_ref, i
        np.testing.assert_allclose(spec[i], s_ref, rtol=1e-13, atol=1e-15, err_msg=str(i))


def test_fast_onset_detect_equals_librosa():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(3)
    envelopes = [np.zeros(40), np.ones(40), fast._onset_strength(fm_tone(1.0), 48_000)]
    for k in range(160):
        n = int(rng.integers(3, 300))
        if k % 4 == 0:
            envelopes.append(rng.standard_normal(n))
        elif k % 4 == 1:
            envelopes.append(np.round(rng.random(n) * 4))  # plateaus and ties
        elif k % 4 == 2:
            envelopes.append(np.abs(np.cumsum(rng.standard_normal(n))))
        else:
            e = np.zeros(n)
            e[rng.integers(0, n, 5)] = rng.random(5) * 10
            envelopes.append(e)
    raised = 0
    for i, env in enumerate(envelopes):
        fs = (44_100, 48_000, 96_000)[i % 3]
        try:
            expected = librosa.onset.onset_detect(
                onset_envelope=env.copy(), sr=fs, backtrack=True, units="samples"
            )
        except librosa.util.exceptions.ParameterError:  # a varying envelope without a peak
            raised += 1
            with pytest.raises(fast.TimbralError):
                fast.onset_detect(env, fs)
            continue
        np.testing.assert_array_equal(fast.onset_detect(env, fs), expected)
    assert raised < len(envelopes) // 2


# ----------------------------------------------------------------- metric, bad input


def _sample(i, audio, ref):
    return Sample(id=str(i), caption="", audio=audio, reference_audio=ref)


def test_metric_columns_reasons_and_bad_input():
    metric = TimbralMetric("fast", prefix="timbral_fast", cache=None)
    tone = Audio(fm_tone(1.0, 48_000).astype(np.float32), 48_000)
    other = Audio(fm_tone(0.7, 44_100, f0=110.0).astype(np.float32), 44_100)  # rate/length
    low = Audio(fm_tone(0.5, 22_050).astype(np.float32), 22_050)  # resampled to 44.1 kHz
    silent = Audio(np.zeros(48_000, dtype=np.float32), 48_000)
    tiny = Audio(np.array([0.1, -0.1] * 20, dtype=np.float32), 48_000)  # < 1 frame
    nan = Audio(np.full(1000, np.nan, dtype=np.float32), 48_000)
    samples = [
        _sample(0, tone, tone),
        _sample(1, other, tone),
        _sample(2, low, tone),
        _sample(3, silent, tone),
        _sample(4, tiny, tone),
        _sample(5, nan, tone),
        _sample(6, None, tone),
    ]
    res = metric.score(samples)
    l1 = res.per_sample["timbral_fast_l1"]
    cos = res.per_sample["timbral_fast_cosine"]
    assert set(res.per_sample) == {"timbral_fast_l1", "timbral_fast_mse", "timbral_fast_cosine"}
    assert l1[0] == 0.0 and cos[0] == pytest.approx(1.0)
    assert np.isfinite(l1[1]) and np.isfinite(l1[2]) and l1[1] > 0
    # failed extraction → zero vector, as in the original: l1 = mean of the reference vector
    ref_vec = normalise(np.array([res.details["raw_b"][k][3] for k in KEYS]))
    for i in (3, 4, 5):
        assert l1[i] == pytest.approx(np.mean(np.abs(ref_vec))), i
        assert cos[i] == 0.0
        assert "generated" in res.reasons[("timbral_fast_l1", i)]
    assert "silent" in res.reasons[("timbral_fast_l1", 3)]
    assert "NaN" in res.reasons[("timbral_fast_l1", 5)]
    assert math.isnan(l1[6]) and res.reasons[("timbral_fast_l1", 6)] == "no generated audio"
    assert res.details["n_with_undefined_attributes"] == 3
    assert math.isnan(res.details["raw_a"]["hardness"][3])


def test_reference_features_are_computed_once_and_cached(tmp_path, monkeypatch):
    from fmbench_plugins.timbral import metric as metric_mod

    from fmbench.cache import Cache

    calls = []
    identity, fn = metric_mod.EXTRACTORS["fast"]

    def counting(x, sr):
        calls.append(len(x))
        return fn(x, sr)

    monkeypatch.setitem(metric_mod.EXTRACTORS, "fast", (identity, counting))
    ref = Audio(fm_tone(0.6, 44_100).astype(np.float32), 44_100)
    gens = [Audio(fm_tone(0.6, 44_100, f0=f).astype(np.float32), 44_100) for f in (200, 300)]
    m = TimbralMetric("fast", cache=Cache(tmp_path))
    first = m.score([_sample(i, g, ref) for i, g in enumerate(gens)])
    assert len(calls) == 3  # one reference + two generated clips
    fresh = TimbralMetric("fast", cache=Cache(tmp_path))  # new process: disk cache
    second = fresh.score([_sample(i, g, ref) for i, g in enumerate(gens)])
    assert len(calls) == 3
    np.testing.assert_array_equal(first.per_sample["timbral_l1"], second.per_sample["timbral_l1"])


def test_both_metrics_are_registered_with_directions():
    from fmbench.plugins import get_registry

    reg = get_registry()
    for name, prefix in (("timbral", "timbral"), ("timbral-fast", "timbral_fast")):
        info = reg.get("metric", name) if hasattr(reg, "get") else reg.info("metric", name)
        outs = {o.name: str(o.direction) for o in info.outputs}
        assert outs == {
            f"{prefix}_l1": "lower",
            f"{prefix}_mse": "lower",
            f"{prefix}_cosine": "higher",
        }
        assert str(info.metric_kind) == "paired_audio"


def test_kernels_compiled_by_one_process_are_loaded_by_the_next(tmp_path):
    """A cold JIT cache is filled once (by parallel compiler processes); a later process
    compiles nothing (a kernel whose cache key changes per process would recompile)."""
    import subprocess
    import sys

    code = (
        "from fmbench_plugins.timbral.metric import TimbralMetric\n"
        "from fmbench_plugins.timbral import audiocommons as ac\n"
        "TimbralMetric('fast', cache=None).prepare()\n"
        "print(sum(sum(k.stats.cache_misses.values()) for k in ac._kernels()))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    env.pop("FMBENCH_NUMBA_CACHE_DIR", None)
    runs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]
    assert runs[1].stdout.strip() == "0"


def test_pairwise_sum_rounds_as_numpy_sums():
    rng = np.random.default_rng(11)
    work = np.empty(4 * 64)
    for n in (1, 7, 8, 9, 127, 128, 129, 255, 700, 701, 1024, 1401, 5000):
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)  # rounding shows
        assert fast._pairwise_sum(a, 0, n, work) == np.sum(a), n
        assert fast._pairwise_sum(a, 1, n - 1, work) == np.sum(a[1:]), n
        assert fast._pairwise_block(a, 0, min(n, 128)) == np.sum(a[:128]), n


def _decay_runs_reference(x, starts, down, n_sub, nos_max):
    """rt60's run counting as numpy statistics over frames (the previous implementation)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, nos_max * n_sub * down)[starts]
    frames = frames[:, ::down]
    bounds = [(0, n_sub)] + [((k - 1) * n_sub, k * n_sub + 1) for k in range(2, nos_max)]
    cnt, broke = np.zeros(len(starts), dtype=int), np.zeros(len(starts), dtype=bool)
    alive, prev = np.arange(len(starts)), None
    for lo, hi in bounds:
        seg = np.ascontiguousarray(frames[alive, lo:hi])
        stats = (seg.var(axis=1), seg.min(axis=1), seg.max(axis=1))
        if prev is not None:
            go_on = (prev[0] > stats[0]) & (prev[2] > stats[2]) & (prev[1] < stats[1])
            broke[alive[~go_on]] = True
            cnt[alive[go_on]] += 1
            alive, stats = alive[go_on], tuple(s[go_on] for s in stats)
        prev = stats
    return cnt, broke


def test_compiled_decay_runs_equal_numpy_statistics():
    rng = np.random.default_rng(12)
    t = np.arange(60_000)
    x = np.concatenate([rng.standard_normal(20_000) * np.exp(-t[:20_000] / 3000.0), np.zeros(9000)])
    x = np.concatenate([x, fm_tone(0.6, 48_000), np.full(5000, 0.25)])  # a DC stretch
    for down, n_sub, shift in ((2, 700, 200), (1, 350, 99), (2, 643, 184)):
        starts = np.arange(0, len(x) - 7 * n_sub * down + 1, shift)
        cnt, broke = fast._decay_runs()(x, starts, down, n_sub, 7)
        expected = _decay_runs_reference(x, starts, down, n_sub, 7)
        np.testing.assert_array_equal(cnt, expected[0])
        np.testing.assert_array_equal(broke, expected[1])
        assert broke.any() and (cnt >= 3).any()  # runs of interest were seen


def test_rms_envelope_of_whole_hops_equals_framewise_means():
    rng = np.random.default_rng(13)
    for n in (1, 255, 256, 1024, 1025, 1537, 99_999):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-5, 5)
        for step, hop, norm in ((1024, 512, False), (256, 256, True)):
            starts = np.arange(0, max(n - step, 0), hop)
            starts = starts[starts < n - step]
            frames = (
                np.lib.stride_tricks.sliding_window_view(x, step)[starts] if starts.size else []
            )
            body = np.sqrt(np.mean(np.asarray(frames) ** 2, axis=1)) if starts.size else []
            tail = x[starts[-1] + hop if starts.size else 0 :]
            expected = np.concatenate([body, [np.sqrt(np.mean(tail * tail))]])
            if norm:
                expected = expected * (1.0 / np.max(np.abs(expected)))
            np.testing.assert_array_equal(fast._rms_envelope(x, step, hop, norm), expected)


def test_soft_mask_kernel_equals_numpy():
    rng = np.random.default_rng(14)
    p, h = rng.random((70, 130)), rng.random((70, 130))
    p[3, :9] = h[3, :9] = 0.0  # both zero: 0.5
    expected = np.divide(p * p, h * h + p * p, out=np.full_like(p, 0.5), where=h * h + p * p > 0)
    got = fast._soft_mask_kernel()(h.copy(), np.ascontiguousarray(p.T))
    np.testing.assert_array_equal(got, expected)


def test_frame_energies_by_parseval_equal_summed_spectra():
    x = fm_tone(0.8, 48_000)
    for nfft, noverlap in ((2048, 1536), (4096, 3072)):
        spectra = fast._spec(x, 48_000, nfft, noverlap)[2]
        np.testing.assert_allclose(
            fast._spec_energy(x, 48_000, nfft, noverlap), spectra.sum(axis=0), rtol=1e-12
        )
    short = x[:1000]  # one zero-padded frame: the spectrum itself is summed
    np.testing.assert_allclose(
        fast._spec_energy(short, 48_000, 2048, 1536),
        fast._spec(short, 48_000, 2048, 1536)[2].sum(axis=0),
        rtol=1e-12,
    )


def test_spectral_sums_equal_the_full_spectrogram_reduced():
    x = fm_tone(0.8, 48_000)
    for nfft, noverlap, n in ((4096, 3072, len(x)), (2048, 1536, len(x)), (2048, 1536, 1500)):
        _, _, P = fast._spec(x[:n], 48_000, nfft, noverlap)
        freq = np.fft.rfftfreq(nfft, 1 / 48_000)
        expected = (P.sum(axis=0), (P * freq[:, None]).sum(axis=0), P.sum(axis=1))
        got = fast._spectral_sums(x[:n], 48_000, nfft, noverlap)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-14, atol=0)
        single = fast._spectral_sums(x[:n], 48_000, nfft, noverlap, np.float32)
        for g, e in zip(single, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7 * e.max())
    # warmth's: scipy's default window and overlap, density scaling
    from scipy.signal import spectrogram

    for n in (8192, 20_000, len(x)):
        _, _, P = spectrogram(x[:n], 48_000, nperseg=8192, nfft=8192)
        got = fast._spectral_sums(
            x[:n], 48_000, 8192, 1024, full_if_equal=True, window=("tukey", 0.25), density=True
        )[2]
        np.testing.assert_allclose(got, P.sum(axis=1), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "head, body, gap, tail", [(0, 30_000, 0, 20_000), (7_000, 9_000, 12_000, 3), (1, 100, 0, 0)]
)
def test_silent_frames_are_skipped_with_the_same_results(head, body, gap, tail):
    """Frames holding only zeros (a rendered note's silent tail or lead-in) are not
    transformed; every reduction equals the one over all frames."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.signal import spectrogram

    tone = fm_tone(1.0, 48_000)
    x = np.concatenate([np.zeros(head), tone[:body], np.zeros(gap), tone[:body], np.zeros(tail)])
    # the STFT: every frame windowed and transformed
    xp = np.pad(x, (1024, 1024))
    frames = sliding_window_view(xp, 2048)[::512] * fast._hann(2048)
    np.testing.assert_array_equal(fast.stft_frames(x), np.fft.rfft(frames, axis=1))
    # the spectral sums: scipy's spectrogram reduced (all frames, zero ones included)
    if len(x) > 8192:
        _, _, P = spectrogram(x, 48_000, nperseg=8192, nfft=8192)
        got = fast._spectral_sums(
            x, 48_000, 8192, 1024, full_if_equal=True, window=("tukey", 0.25), density=True
        )[2]
        np.testing.assert_allclose(got, P.sum(axis=1), rtol=1e-14, atol=0)
    per_frame, _, _ = fast._spectral_sums(x, 48_000, 2048, 1536)
    _, _, P = fast._spec(x, 48_000, 2048, 1536)
    np.testing.assert_allclose(per_frame, P.sum(axis=0), rtol=1e-14, atol=0)
    # the third-octave bank: zero windows have -inf levels, the others their own levels
    w = fast._windows(x)
    levels = fast._band_levels(w, 48_000)
    for i in range(len(w)):
        np.testing.assert_array_equal(levels[i], fast._band_levels(w[i : i + 1], 48_000)[0])
        assert np.isneginf(levels[i]).all() == (not w[i].any())
    # roughness: the analysis of the clip equals the analysis with a tiny tail, which
    # makes every frame non-zero
    if len(x) > 4800:
        a, b = fast.Analysis(x, 48_000), fast.Analysis(x, 48_000)
        b.x = b.x + np.where(b.x == 0, 1e-300, 0.0)
        assert fast.roughness(a) == pytest.approx(fast.roughness(b), abs=1e-12)


def test_band_edges_kernel_equals_numpy_running_sums():
    rng = np.random.default_rng(9)
    spec = (rng.random((40, 2049)) ** 6).astype(np.float32)
    spec[3] = 0.0  # silent frame: roll-on 0, no bin over the floor
    spec[4, 1500:] = 0.0
    spec[5, :] = 1e-6  # under the floor everywhere
    thr = spec.sum(axis=1) * np.float32(0.05)
    thr[6] = np.cumsum(spec[6])[1000]  # reached exactly at bin 1000
    floor = np.float32(10 ** (-75 / 20))
    freq = np.arange(2049) * 48_000 / 4096
    over = spec >= floor
    rollon = np.argmax(np.cumsum(spec, axis=1) >= thr[:, None], axis=1)
    rolloff = 2048 - np.argmax(over[:, ::-1], axis=1)
    expected = np.where(over.any(axis=1), freq[rolloff] - freq[rollon], 0.0)
    width = np.empty(40)
    fast._band_edges_kernel()(spec, thr, floor, freq, width)
    np.testing.assert_array_equal(width, expected)
    assert width[3] == width[5] == 0.0 and width[4] == freq[1499] - freq[rollon[4]]


def test_mel_power_kernel_equals_the_sparse_product():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((7, 1025)) + 1j * rng.standard_normal((7, 1025))
    z[2] = 0.0
    for fs in (44_100, 48_000):
        basis = fast._mel_basis(fs)
        mel = np.full((128, 10), np.nan)
        fast._mel_power_kernel()(z, basis.indptr, basis.indices, basis.data, mel, 2, np.empty(1025))
        power = z.real * z.real + z.imag * z.imag
        np.testing.assert_array_equal(mel[:, 2:9], basis @ power.T)
        assert np.isnan(mel[:, :2]).all() and np.isnan(mel[:, 9:]).all()


def test_integrated_loudness_equals_pyloudnorm():
    import pyloudnorm as pyln

    rng = np.random.default_rng(15)
    cases = [
        (fm_tone(2.0, 48_000), 48_000),
        (rng.standard_normal(30_000) * 0.1, 44_100),
        (np.sin(np.arange(2 * 96_000) / 10) * 1e-4, 96_000),
        (np.concatenate([np.zeros(3 * 48_000), rng.standard_normal(4800)]), 48_000),  # gated
        (np.zeros(20_000), 48_000),  # silence: -inf
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x, fs in cases:
            expected = pyln.Meter(fs).integrated_loudness(x)
            assert fast.integrated_loudness(x, fs) == expected
    with pytest.raises(fast.TimbralError, match="400 ms"):
        fast.integrated_loudness(np.ones(100), 48_000)


@pytest.mark.parametrize(
    "x",
    [
        np.array([0.0, 0.5]),  # two samples: no spectral peak for depth
        0.5 * np.sin(np.arange(100) / 3.0),  # shorter than roughness' first hop
        np.full(48_000, 0.3),  # DC: no peak in warmth's spectrum
    ],
    ids=["two-samples", "100-samples", "dc"],
)
def test_degenerate_clips_fail_with_a_timbral_error(x):
    with pytest.raises(fast.TimbralError):
        fast.extract(x, 48_000)
