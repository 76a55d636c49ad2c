"""timbral-fast: our own vectorised implementation of the eight AudioCommons timbral models.

The models (hardness, depth, brightness, roughness, warmth, sharpness, boominess, reverb)
are those of AudioCommons timbral-models 0.4 (Pearce et al.): the same features and the
same published regression coefficients, re-implemented here around one shared analysis
per clip instead of eight independent passes:

- loudness normalisation (ITU-R BS.1770 integrated loudness → −24 LUFS) is done once;
- the Zwicker specific-loudness spectrum of the 4096-sample windows — used by hardness,
  warmth, sharpness and boominess — is computed once, for all windows at a time, with
  the third-octave filter designs cached;
- the 20 Hz high-passed signal is shared by depth and brightness; the sample-and-hold
  envelope (compiled with numba) and the onset strength are shared where the models
  analyse the same signal; per-frame loops are array operations.

Every function returns the attribute on timbral-models' scale (clipped to 0..100 for
the seven continuous ones; reverb is 0/1). Failure modes follow the original: silent
audio raises :class:`TimbralError`, as do the degenerate cases where the original raises.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# the attribute order, and the lowest rate the models' filter banks work at
from fmbench_plugins.timbral.metric import KEYS
from fmbench_plugins.timbral.metric import MIN_RATE as _MIN_RATE


class TimbralError(ValueError):
    """An attribute cannot be computed for this audio (e.g. silence, too short)."""


# --------------------------------------------------------------------------- helpers


def _db2mag(db: float) -> float:
    return 10.0 ** (db / 20.0)


def _clip100(v: float) -> float:
    return float(min(max(v, 0.0), 100.0))


@functools.lru_cache(maxsize=64)
def _butter(order: int, wn: Any, btype: str) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import butter

    return butter(order, list(wn) if isinstance(wn, tuple) else wn, btype)


def _butter_cascades(x: np.ndarray, fs: float, *bands: tuple[float, str]) -> np.ndarray:
    """Columns (samples × bands): ``x`` through three cascaded passes of the 2nd-order
    Butterworth filter of each (crossover Hz, "low"/"high") band — the models call
    lfilter three times per filter. Each column equals ``scipy.signal.sosfilt`` over
    three identical sections (the same recursion, operation for operation), compiled with
    the filter state in registers (about twice as fast as sosfilt)."""
    coef = np.empty((len(bands), 5))  # per band: b0 b1 b2 a1 a2 (a0 = 1)
    for k, (crossover, btype) in enumerate(bands):
        b, a = _monic(*_butter(2, crossover / (0.5 * fs), btype))
        coef[k] = [b[0], b[1], b[2], a[1], a[2]]
    return _cascade_kernel()(coef, np.ascontiguousarray(x, dtype=np.float64))


@functools.lru_cache(maxsize=1)
def _cascade_kernel():
    """The compiled recursion of :func:`_butter_cascades`."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def cascade(coef, x):  # pragma: no cover - compiled
        out = np.empty((x.shape[0], coef.shape[0]))
        for k in range(coef.shape[0]):
            b0, b1, b2, a1, a2 = coef[k, 0], coef[k, 1], coef[k, 2], coef[k, 3], coef[k, 4]
            p0 = p1 = q0 = q1 = r0 = r1 = 0.0  # the three sections' states
            for t in range(x.shape[0]):  # scipy's _sosfilt, operation for operation
                v = x[t]
                y = b0 * v + p0
                p0 = b1 * v - a1 * y + p1
                p1 = b2 * v - a2 * y
                v = y
                y = b0 * v + q0
                q0 = b1 * v - a1 * y + q1
                q1 = b2 * v - a2 * y
                v = y
                y = b0 * v + r0
                r0 = b1 * v - a1 * y + r1
                r1 = b2 * v - a2 * y
                out[t, k] = y
        return out

    return cascade


def _bell(lo: int, hi: int) -> np.ndarray:
    """The 240-band weighting the models use: a min-max scaled Gaussian on bands lo..hi.

    Reproduces the models' ``exp(-(b - mean)² / 2 · θ²)`` with θ = 0.01 (sic: the
    variance multiplies), which makes a very wide bell.
    """
    bands = np.arange(lo, hi, dtype=np.float64)
    mean = (lo + hi) / 2.0
    theta = 0.01
    y = (1.0 / (theta * np.sqrt(2.0 * np.pi))) * np.exp(-((bands - mean) ** 2.0) / 2.0 * theta**2)
    y -= y.min()
    y /= y.max()
    w = np.zeros(240)
    w[lo:hi] = y
    return w


def _windows(x: np.ndarray, n: int = 4096) -> np.ndarray:
    """Non-overlapping rows of ``n`` samples; always pads (a full extra window if exact)."""
    rem = len(x) % n
    x = np.pad(x, (0, n - rem))
    return x.reshape(-1, n)


def _loudness_normalise(x: np.ndarray, fs: int) -> np.ndarray:
    """``x`` scaled to −24 LUFS as the models do with pyloudnorm (clips shorter than a
    gating block measured zero-padded), then down to a peak of 1 if it exceeds it."""
    probe = np.pad(x, (0, int(fs * 0.4) - len(x))) if len(x) < fs * 0.4 else x
    loudness = integrated_loudness(probe, fs)
    y = np.power(10.0, (-24.0 - loudness) / 20.0) * x  # pyloudnorm.normalize.loudness
    peak = np.max(np.abs(y))
    if peak > 1.0:
        y = y / peak
    return y


@functools.lru_cache(maxsize=8)
def _k_weighting(fs: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The K-weighting stages of ``pyloudnorm.Meter(fs)`` (its high shelf, then its high
    pass, designed by pyloudnorm with the meter's parameters): (b, a with a[0] = 1,
    passband gain)."""
    from pyloudnorm.iirfilter import IIRfilter

    stages = [
        IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, fs, "high_shelf"),
        IIRfilter(0.0, 0.5, 38.0, fs, "high_pass"),
    ]
    return [(*_monic(np.asarray(f.b), np.asarray(f.a)), float(f.passband_gain)) for f in stages]


@functools.lru_cache(maxsize=1)
def _biquad_chain_kernel():
    """``g_n · lfilter(b_n, a_n, …)`` of each stage (rows: b0 b1 b2 a1 a2 g, a0 = 1) in
    turn, every stage advanced sample by sample in one compiled pass: scipy's direct-form
    II transposed recursion with its operation order, so the output is lfilter's."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def chain(stages, x):  # pragma: no cover - compiled
        out = np.empty_like(x)
        n_st = stages.shape[0]
        z0 = np.zeros(n_st)
        z1 = np.zeros(n_st)
        for t in range(x.shape[0]):
            v = x[t]
            for s in range(n_st):
                b0, b1, b2 = stages[s, 0], stages[s, 1], stages[s, 2]
                a1, a2, gain = stages[s, 3], stages[s, 4], stages[s, 5]
                y = z0[s] + b0 * v
                z0[s] = z1[s] + v * b1 - y * a1
                z1[s] = v * b2 - y * a2
                v = gain * y
            out[t] = v
        return out

    return chain


def integrated_loudness(x: np.ndarray, fs: int) -> float:
    """ITU-R BS.1770-4 gated loudness (LUFS) of mono ``x``: ``pyloudnorm.Meter(fs)
    .integrated_loudness(x)`` with the same operations (its filter designs, 400 ms
    blocks every 100 ms, the −70 LUFS and −10 LU gates), the K-weighting filters in one
    compiled pass (:func:`_biquad_chain_kernel`)."""
    block, step = 0.400, 0.25
    if len(x) < block * fs:
        raise TimbralError("loudness: audio shorter than a 400 ms gating block")
    stages = np.array([[*b, *a[1:], gain] for b, a, gain in _k_weighting(fs)])
    y = _biquad_chain_kernel()(stages, np.ascontiguousarray(x, dtype=np.float64))
    sq = np.square(y)
    n_blocks = int(np.round((len(x) / fs - block) / (block * step)) + 1)
    z = np.empty(n_blocks)
    for j in range(n_blocks):
        lo, hi = int(block * (j * step) * fs), int(block * (j * step + 1) * fs)
        z[j] = (1.0 / (block * fs)) * np.sum(sq[lo:hi])
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = -0.691 + 10.0 * np.log10(1.0 * z)
        gated = z[levels >= -70.0]
        relative = -0.691 + 10.0 * np.log10(1.0 * np.mean(gated)) - 10.0
        kept = z[(levels > relative) & (levels > -70.0)]
        mean = float(np.nan_to_num(np.mean(kept))) if kept.size else 0.0
        return float(-0.691 + 10.0 * np.log10(1.0 * mean))


# ------------------------------------------------------------ sample-and-hold envelope


@functools.lru_cache(maxsize=1)
def _envelope_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(a, decay, hold):  # pragma: no cover - compiled
        out = np.empty_like(a)
        prev = 0.0
        counter = 0
        for i in range(a.shape[0]):
            s = a[i]
            if s >= prev:
                prev = s
                counter = 0
            elif counter < hold:
                counter += 1
            else:
                d = prev - decay
                prev = d if d > s else s
            out[i] = prev
        return out

    return kernel


def envelope(x: np.ndarray, fs: int, decay_time: float = 0.2, hold_time: float = 0.01):
    """Peak-following envelope: instant attack, ``hold_time`` hold, then linear decay
    reaching zero from the clip's peak after ``decay_time`` seconds."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    decay = a.max() / (decay_time * fs)
    return _envelope_kernel()(a, float(decay), float(hold_time * fs))


#: columns whose running medians advance together, one per vector lane of the loops
_MEDIAN_LANES = 64


@functools.lru_cache(maxsize=1)
def _median_kernel():
    """Running median of odd width ``k`` down axis 0 of a C-ordered (n, cols) array,
    edges as ``scipy.ndimage.median_filter(mode="reflect")``.

    Each column keeps its window sorted; ``_MEDIAN_LANES`` columns advance in lock-step
    (one per vector lane), so a step is branch-free: the leaving value is deleted (a row
    keeps its value if smaller, else takes the next row's) and the entering value ``v``
    inserted by clamping (row t becomes ``min(max(v, below[t-1]), below[t])``). The
    window starts as +inf rows that the first ``k`` values replace. Exact: medians are
    selected, never computed."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(a, k):  # pragma: no cover - compiled
        n, cols = a.shape
        h = k // 2
        lanes = _MEDIAN_LANES
        out = np.empty_like(a)
        window = np.empty((k, lanes))  # sorted down each lane
        less = np.empty((k + 1, lanes))  # rows 1..k-1: the window less one value
        leaving = np.empty(lanes)
        entering = np.zeros(lanes)
        for c0 in range(0, cols, lanes):
            m = min(lanes, cols - c0)
            for t in range(k):
                for j in range(lanes):
                    window[t, j] = np.inf
            for j in range(lanes):
                less[0, j] = -np.inf
                less[k, j] = np.inf
                leaving[j] = np.inf
            for i in range(1 - k, n):  # i < 0: filling the first window
                r = i + h
                while r < 0 or r >= n:
                    r = -r - 1 if r < 0 else 2 * n - r - 1
                for j in range(m):
                    entering[j] = a[r, c0 + j]
                if i > 0:
                    r = i - h - 1
                    while r < 0 or r >= n:
                        r = -r - 1 if r < 0 else 2 * n - r - 1
                    for j in range(m):
                        leaving[j] = a[r, c0 + j]
                for t in range(k - 1):
                    for j in range(lanes):
                        w = window[t, j]
                        less[t + 1, j] = w if w < leaving[j] else window[t + 1, j]
                for t in range(k):
                    for j in range(lanes):
                        v = entering[j]
                        lo, hi = less[t, j], less[t + 1, j]
                        v = v if v > lo else lo
                        window[t, j] = v if v < hi else hi
                if i >= 0:
                    for j in range(m):
                        out[i, c0 + j] = window[h, j]
        return out

    return kernel


@functools.lru_cache(maxsize=1)
def _soft_mask_kernel():
    """librosa's soft mask ``p² / (h² + p²)`` (0.5 where both are zero), written over
    ``h`` (C-ordered) in one compiled pass; ``pt`` is ``p`` transposed (C-ordered, as the
    median kernel returns the medians across frequency), read a tile at a time."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def soft_mask(h, pt):  # pragma: no cover - compiled
        rows, cols = h.shape
        for r0 in range(0, rows, 64):
            for c0 in range(0, cols, 64):
                for r in range(r0, min(r0 + 64, rows)):
                    for c in range(c0, min(c0 + 64, cols)):
                        num = pt[c, r] * pt[c, r]
                        den = h[r, c] * h[r, c] + num
                        h[r, c] = num / den if den > 0 else 0.5
        return h

    return soft_mask


def median_filter_axis(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Median over a window of odd ``size`` along ``axis`` of a 2-D array, with the edge
    handling of ``scipy.ndimage.median_filter(mode="reflect")`` (exact, much faster)."""
    kern = _median_kernel()
    if axis == 0:
        return kern(np.ascontiguousarray(a, dtype=np.float64), int(size))
    return kern(np.ascontiguousarray(a.T, dtype=np.float64), int(size)).T


def percussive_ratio(x: np.ndarray, Z: np.ndarray | None = None) -> float:
    """Energy-weighted percussive share after median-filter harmonic/percussive
    separation (librosa's default HPSS: 2048-point STFT, 31-wide kernels, soft masks).

    ``Z`` is :func:`stft_frames` of ``x`` when the caller already has it. Frames after the
    last one with any energy are skipped: their masked STFT is zero whatever the mask, and
    the harmonic median of every earlier frame only looks 15 frames ahead.
    """
    if Z is None:
        Z = stft_frames(x)
    n_frames = Z.shape[0]
    S = np.abs(Z)
    active = np.flatnonzero(S.any(axis=1))
    end = min(n_frames, int(active[-1]) + 16) if active.size else n_frames
    S, Z = S[:end], Z[:end]
    harm = median_filter_axis(S, 31, axis=0)  # across time (rows are frames)
    perc = median_filter_axis(S, 31, axis=1)  # across frequency: a transposed C array
    mask_p = _soft_mask_kernel()(harm, perc.T)
    # the masks sum to one and the STFT reconstructs perfectly, so the harmonic part is
    # the rest of the signal: one inverse transform instead of two
    pa = istft_frames(Z, _HOP * (n_frames - 1), mask_p)
    ha = x[: len(pa)] - pa
    pe, he = _rms_envelope(pa, 1024, 512, False), _rms_envelope(ha, 1024, 512, False)
    keep = (pe != 0) | (he != 0)
    if not keep.any():
        raise TimbralError("hardness: no energy after harmonic/percussive separation")
    return float(np.average(pe[keep] / (pe[keep] + he[keep]), weights=(pe + he)[keep]))


# ------------------------------------------------- short-time Fourier transform, onsets
#
# The models analyse with librosa's defaults (2048-point periodic Hann, hop 512, centred
# with zero padding). These are those transforms in numpy/scipy, with librosa's values but
# without importing librosa, whose import compiles a dozen numba kernels into an empty JIT
# cache (about 15 s on a fresh machine).

_N_FFT, _HOP = 2048, 512


@functools.lru_cache(maxsize=4)
def _hann(n: int) -> np.ndarray:
    """The periodic Hann window librosa uses (``get_window("hann", n, fftbins=True)``)."""
    from scipy.signal import get_window

    win = get_window("hann", n, fftbins=True)
    win.setflags(write=False)  # shared by every caller
    return win


#: frames transformed at a time by every blocked STFT here: a block stays in cache
_BLOCK_FRAMES = 32


def _stft_blocks(x: np.ndarray, out: np.ndarray | None = None):
    """Yield ``(start, spectra)`` for consecutive blocks of :func:`stft_frames` rows, also
    written into ``out`` (all the rows) when given. The frames are windowed into one
    buffer reused from block to block; frames before the first or after the last non-zero
    sample (a rendered note's silent tail) are zero and not transformed. Callers only
    read the yielded spectra (all-zero blocks share one buffer)."""
    from numpy.lib.stride_tricks import sliding_window_view

    pad = _N_FFT // 2
    xp = np.pad(np.asarray(x, dtype=np.float64), (pad, pad))
    frames = sliding_window_view(xp, _N_FFT)[::_HOP]
    lo, hi = _active_frames(xp, np.arange(len(frames)) * _HOP, _N_FFT)
    win = _hann(_N_FFT)
    windowed = np.empty((_BLOCK_FRAMES, _N_FFT))
    zero = np.zeros((_BLOCK_FRAMES, _N_FFT // 2 + 1), dtype=np.complex128)  # never written
    for s in range(0, frames.shape[0], _BLOCK_FRAMES):
        n = min(_BLOCK_FRAMES, frames.shape[0] - s)
        a, b = max(s, lo), min(s + n, hi)
        if a >= b:
            z = zero[:n]
        else:
            block = frames[a:b]
            z = np.fft.rfft(np.multiply(block, win, out=windowed[: b - a]), axis=1)
            if b - a < n:
                z = np.concatenate([zero[: a - s], z, zero[: s + n - b]])
        if out is not None:
            out[s : s + n] = z
        yield s, z


def _nonzero_span(x: np.ndarray) -> tuple[int, int] | None:
    """(first, last) index of ``x``'s non-zero samples; None when there are none."""
    if x.size and x[0] != 0 and x[-1] != 0:  # filtered signals: no scan
        return 0, len(x) - 1
    nz = x != 0
    first = int(np.argmax(nz))
    if not nz[first]:
        return None
    return first, len(x) - 1 - int(np.argmax(nz[::-1]))


def _active_frames(x: np.ndarray, starts: np.ndarray, size: int) -> tuple[int, int]:
    """[lo, hi): the frames of ``x`` (``size`` samples from each of the ascending
    ``starts``) that hold a non-zero sample, give or take all-zero frames between the
    first and the last of them; the others are all zero."""
    span = _nonzero_span(x)
    if span is None:
        return 0, 0
    lo = int(np.searchsorted(starts + (size - 1), span[0]))
    return lo, int(np.searchsorted(starts, span[1], side="right"))


def _n_stft_frames(n: int) -> int:
    return 1 + n // _HOP


def stft_frames(x: np.ndarray) -> np.ndarray:
    """``librosa.stft(x).T``: complex spectra of the centred, zero-padded 2048-point Hann
    frames every 512 samples, one row per frame (frames × 1025 bins)."""
    out = np.empty((_n_stft_frames(len(x)), _N_FFT // 2 + 1), dtype=np.complex128)
    for _ in _stft_blocks(x, out):
        pass
    return out


@functools.lru_cache(maxsize=2)
def _window_sum_square(n_blocks: int, n_frames: int) -> np.ndarray:
    """Σ window² of ``n_frames`` overlapping frames, as (n_blocks, hop) rows (read-only:
    clips of one length share it)."""
    sq = _hann(_N_FFT) ** 2
    wss = np.zeros((n_blocks, _HOP))
    for j in range(_N_FFT // _HOP):
        wss[j : j + n_frames] += sq[j * _HOP : (j + 1) * _HOP]
    wss.setflags(write=False)
    return wss


def istft_frames(Z: np.ndarray, length: int, mask: np.ndarray | None = None) -> np.ndarray:
    """``librosa.istft((Z * mask).T, length=length)`` for :func:`stft_frames` output
    (``mask``: an optional real array of Z's shape, applied a block at a time): windowed
    inverse transforms overlap-added and divided by the window's summed square where that
    is not negligible; samples after the last frame are zero."""
    n_frames = min(Z.shape[0], int(np.ceil((length + _N_FFT) / _HOP)))
    win = _hann(_N_FFT)
    q = _N_FFT // _HOP  # the hop divides the frame: add each quarter of a block at once
    n_blocks = max(n_frames + q - 1, -(-(length + _N_FFT) // _HOP))
    y = np.zeros((n_blocks, _HOP))
    masked = np.empty((_BLOCK_FRAMES, Z.shape[1]), dtype=np.complex128)
    for s in range(0, n_frames, _BLOCK_FRAMES):
        e = min(s + _BLOCK_FRAMES, n_frames)
        block = Z[s:e] if mask is None else np.multiply(Z[s:e], mask[s:e], out=masked[: e - s])
        frames = np.fft.irfft(block, n=_N_FFT, axis=1)
        frames *= win
        for j in range(q):
            y[s + j : e + j] += frames[:, j * _HOP : (j + 1) * _HOP]
    start = _N_FFT // 2
    wss = _window_sum_square(n_blocks, n_frames).ravel()[start : start + length]
    y = y.ravel()[start : start + length]
    nonzero = wss > np.finfo(wss.dtype).tiny
    y[nonzero] /= wss[nonzero]
    return y


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above."""
    f = np.array(f, dtype=np.float64, ndmin=1)
    mel = f / (200.0 / 3)
    high = f >= 1000.0
    mel[high] = 15.0 + np.log(f[high] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_hz_to_mel`."""
    mel = np.array(mel, dtype=np.float64, ndmin=1)
    f = (200.0 / 3) * mel
    high = mel >= 15.0
    f[high] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[high] - 15.0))
    return f


@functools.lru_cache(maxsize=8)
def _mel_basis(fs: int):
    """librosa's default mel filter bank for a 2048-point STFT (128 Slaney-normalised
    triangles from 0 Hz to fs/2, built in single precision as librosa builds them), as a
    sparse matrix of shape (128, 1025): each triangle spans a few bins."""
    import scipy.sparse

    n_mels = 128
    fft_f = np.fft.rfftfreq(_N_FFT, 1.0 / fs)
    lo, hi = _hz_to_mel(0.0)[0], _hz_to_mel(fs / 2.0)[0]
    edges = _mel_to_hz(np.linspace(lo, hi, n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_f)
    weights = np.zeros((n_mels, len(fft_f)), dtype=np.float32)
    for i in range(n_mels):
        rise, fall = -ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rise, fall))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    return scipy.sparse.csr_array(weights.astype(np.float64))


@functools.lru_cache(maxsize=1)
def _mel_power_kernel():
    """Mel power of a block of spectra into columns ``s…`` of ``mel`` (bands × frames):
    each frame's power ``re² + im²`` projected on the CSR mel bank (``indptr``,
    ``indices``, ``data``), summed over each band's bins in stored order from 0, as
    scipy's sparse product sums (and so with its values)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def project(z, indptr, indices, data, mel, s, power):  # pragma: no cover - compiled
        frames, bins = z.shape
        for t in range(frames):
            for k in range(bins):
                re, im = z[t, k].real, z[t, k].imag
                power[k] = re * re + im * im
            for m in range(mel.shape[0]):
                acc = 0.0
                for jj in range(indptr[m], indptr[m + 1]):
                    acc += data[jj] * power[indices[jj]]
                mel[m, s + t] = acc

    return project


def _onset_strength(x: np.ndarray, fs: int, Z: np.ndarray | None = None) -> np.ndarray:
    """``librosa.onset.onset_strength(y=x, sr=fs)``: the mean over 128 mel bands of the
    positive frame-to-frame rise of the dB mel power (top 80 dB), delayed by three frames
    (one for the difference, two for centring). ``Z`` is :func:`stft_frames` of ``x``
    when the caller already has it; otherwise the STFT is computed and reduced a block of
    frames at a time (never held whole)."""
    basis = _mel_basis(fs)
    n_frames = _n_stft_frames(len(x)) if Z is None else Z.shape[0]
    mel = np.empty((basis.shape[0], n_frames))  # (128, frames), C-ordered like librosa's
    blocks = _stft_blocks(x) if Z is None else _blocks_of(Z)
    project, power = _mel_power_kernel(), np.empty(_N_FFT // 2 + 1)
    for s, z in blocks:
        project(z, basis.indptr, basis.indices, basis.data, mel, s, power)
    db = 10.0 * np.log10(np.maximum(1e-10, mel))
    db = np.maximum(db, db.max() - 80.0)
    rise = np.maximum(0.0, db[:, 1:] - db[:, :-1])
    env = np.concatenate([np.zeros(1 + _N_FFT // (2 * _HOP)), np.mean(rise, axis=0)])
    return env[:n_frames]


def _blocks_of(Z: np.ndarray):
    for s in range(0, Z.shape[0], _BLOCK_FRAMES):
        yield s, Z[s : s + _BLOCK_FRAMES]


def _walk_back(loc, env, look_back, hyst_thresh, hyst_len, floor):
    """Move a detected onset back to where the envelope really starts rising."""
    while True:
        current = env[int(loc)]
        window = env[loc - look_back - 1 : loc] if loc - look_back > 0 else env[: loc - 1]
        if window.min() - current <= 0:
            new_loc = int(np.argmin(window)) + loc - look_back - 1
            if new_loc > floor:
                loc = new_loc
                continue
            return 0
        hyst = env[loc - hyst_len - 1 : loc] if loc - hyst_len - 1 > 0 else env[:loc]
        below = np.flatnonzero(hyst < env[loc])
        if below.size == 0:
            return loc
        last = below[-1]
        last_idx = int(loc - len(hyst) + last)
        if hyst[last:].max() - hyst[last:].min() >= hyst_thresh:
            return loc
        if last_idx >= floor:
            loc = last_idx
        else:
            return 0


def onset_detect(strength: np.ndarray, fs: int, hop: int = 512) -> np.ndarray:
    """``librosa.onset.onset_detect(onset_envelope=strength, sr=fs, backtrack=True,
    units="samples")`` (librosa 0.10–0.11) in plain numpy, with identical results: the
    envelope scaled to [0, 1], librosa's default peak picking (30 ms local max, 100 ms
    mean + 0.07, 30 ms wait; the window mean summed left to right as librosa's compiled
    picker does), each onset moved back to the nearest preceding local minimum. Without
    librosa's numba kernels (no JIT compilation or on-disk JIT cache). Raises
    :class:`TimbralError` where librosa raises (a varying envelope without any peak)."""
    x = np.asarray(strength, dtype=np.float64)
    x = x - np.min(x)
    x /= np.max(x) + np.finfo(np.float64).tiny
    if not x.any() or not np.isfinite(x).all():
        return np.zeros(0, dtype=int)
    pre_max, post_max = int(0.03 * fs // hop), int(0.0 * fs // hop + 1)
    pre_avg, post_avg = int(0.10 * fs // hop), int(0.10 * fs // hop + 1)
    wait, delta = int(0.03 * fs // hop), float(np.float32(0.07))  # librosa passes float32
    n = len(x)
    padded = np.concatenate([np.full(pre_max, -np.inf), x, np.full(post_max - 1, -np.inf)])
    local_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)
    peaks: list[int] = []
    allowed = 0
    # a local maximum below delta is never a peak (the window mean is not negative), and
    # passing over one changes nothing: only local maxima from delta up are tested
    for i in np.flatnonzero((x == local_max) & (x >= delta)).tolist():
        if i < allowed:
            continue
        window = x[max(0, i - pre_avg) : min(i + post_avg, n)]
        total = float(np.cumsum(window)[-1])  # summed in order, as librosa's compiled mean
        if x[i] >= total / len(window) + delta:
            peaks.append(i)
            allowed = i + wait + 1
    if not peaks:  # librosa fails here too (backtracking an empty event list)
        raise TimbralError("onset detection: no peak in the onset strength")
    minima = 1 + np.flatnonzero((x[1:-1] <= x[:-2]) & (x[1:-1] < x[2:]))
    minima = np.unique(np.concatenate([[0], minima]))
    back = minima[np.searchsorted(minima, np.array(peaks), side="right") - 1]
    return (back * hop).astype(int)


def onsets(x, env, fs, strength, floor=512):
    """Onset sample positions: librosa's backtracked onsets (:func:`onset_detect`),
    corrected on the envelope, filtered by dynamic range, separation (100 ms) and onset
    strength (≥ 3)."""
    found = onset_detect(strength, fs)
    look_back = int(20 * 0.001 * fs)
    hyst_len = int(300 * fs * 0.001)
    dyn = env.max() - env.min()
    hyst_thresh = dyn * 10 * 0.01
    if not np.size(found):
        return [0]
    corrected: list[int] = []
    for o in found:
        if o > 0:
            loc = int(o)
            if not corrected or loc + 511 < len(env):
                corrected.append(_walk_back(loc, env, look_back, hyst_thresh, hyst_len, floor))
        else:
            corrected.append(0)
    arr = np.array(corrected)
    zeros = np.flatnonzero(arr == 0)
    if zeros.size and zeros[0] == 0:
        zeros = zeros[1:]
    arr = np.delete(arr, zeros)
    uniq: list[int] = []
    for v in arr:
        if v not in uniq:
            uniq.append(v)
    cur: Any = uniq
    if len(cur) > 1:
        thr = 10 * dyn * 0.01
        for i in reversed(range(len(cur))):
            seg = env[cur[i] :] if cur[i] == cur[-1] else env[cur[i] : cur[i + 1]]
            keep = False
            if len(seg) > 1:
                p = int(np.argmax(seg))
                keep = p > 0 and seg.max() - seg[:p].min() >= thr
            if not keep:
                cur = np.delete(cur, i)
    if len(cur) > 1:
        min_sep = fs * 0.001 * 100
        while len(cur) > 1 and np.diff(cur).min() < min_sep:
            drop = [i + 1 for i in range(len(cur) - 1) if abs(cur[i + 1] - cur[i]) < min_sep]
            cur = np.delete(cur, drop)
    frames = (np.array(cur) / 512).astype(int)
    kept = []
    for i in reversed(range(len(cur))):
        f = frames[i]
        seg = strength[f:] if f == frames[-1] else strength[f : frames[i + 1]]
        if seg.max() < 3:
            frames = np.delete(frames, i)
        else:
            kept.append(cur[i])
    kept.sort()
    return [int(v) for v in kept] if kept else [0]


# ---------------------------------------------------------------------- peak picking


def _peak_scan(ap: np.ndarray, cthr: float) -> tuple[np.ndarray, int]:  # pragma: no cover
    """The sequential candidate scan of :func:`detect_peaks`, compiled by
    :func:`_peak_kernels` (a module-level function, so the roughness kernel that calls it
    is found in numba's on-disk cache by the next process: a closure would not be).

    ``ap`` holds the values with -2 on both ends. Returns (the kept candidates' indices
    into ``ap``, in the order found; the number of candidates)."""
    n = ap.shape[0] - 2
    mx = np.empty(n, np.int64)
    m = 0
    for i in range(1, n + 1):
        if ap[i] >= cthr and ap[i] - ap[i - 1] > 0 and ap[i + 1] - ap[i] <= 0:
            mx[m] = i
            m += 1
    final = np.empty(m, np.int64)
    if m == 0:
        return final, 0
    nf = 0
    j = 0
    mxj = mx[0]
    bufmin = 2.0
    bufmax = ap[mxj]
    oldbufmin = ap[0]
    for t in range(1, mxj - 1):
        oldbufmin = min(oldbufmin, ap[t])
    for jj in range(1, m):
        prev, now = mx[jj - 1], mx[jj]
        for t in range(prev, now - 1):
            bufmin = min(bufmin, ap[t])
        if bufmax - bufmin < cthr:
            if ap[now] > bufmax:
                j, mxj, bufmax = jj, now, ap[now]
                oldbufmin = min(oldbufmin, bufmin)
                bufmin = 2.0
            elif ap[now] - bufmax <= 0:
                bufmax = max(bufmax, ap[now])
                oldbufmin = min(oldbufmin, bufmin)
        else:
            if bufmax - oldbufmin < cthr:
                oldbufmin = min(oldbufmin, bufmin)
            else:
                final[nf] = mxj
                nf += 1
                oldbufmin = bufmin
            bufmax = ap[now]
            j, mxj = jj, now
            bufmin = 2.0
    after = ap[mx[j] + 1]
    for t in range(mx[j] + 2, n + 2):
        after = min(after, ap[t])
    if bufmax - oldbufmin >= cthr and bufmax - after >= cthr:
        final[nf] = mx[j]
        nf += 1
    return final[:nf], m


@functools.lru_cache(maxsize=1)
def _peak_kernels():
    """(scan, roughness) compiled with numba: :func:`_peak_scan`, and
    :func:`roughness`'s per-frame peaks and pair sums (which calls the scan)."""
    import numba
    from numba.extending import register_jitable

    register_jitable(_peak_scan)  # callable from compiled code, as a global
    scan = numba.njit(cache=True, nogil=True)(_peak_scan)

    @numba.njit(cache=True, nogil=True)
    def roughness_frames(spec, lo, hi, freq, cthr):  # pragma: no cover - compiled
        # per frame: Σ over peak pairs of the Plomp–Levelt dissonance (NaN: no prominent
        # peak among candidates, where detect_peaks raises); peaks are picked on the
        # spectrum min-max scaled by the whole spectrogram's lo and hi
        n_frames, nb = spec.shape
        out = np.zeros(n_frames)
        ap = np.empty(nb + 2)
        ap[0] = -2.0
        ap[nb + 1] = -2.0
        for i in range(n_frames):
            for k in range(nb):
                ap[k + 1] = (spec[i, k] - lo) / (hi - lo)
            final, m = _peak_scan(ap, cthr)
            if m == 0:
                continue
            k = final.shape[0]
            if k == 0:
                out[i] = np.nan
                continue
            if k < 2:
                continue
            # strongest first, equal peaks by descending position: detect_peaks' stable
            # order, by insertion (k is small; numba's argsort would double compile time)
            order = np.empty(k, np.int64)
            for t in range(k):
                key = ap[final[t]]
                j = t
                while j > 0 and ap[final[order[j - 1]]] <= key:
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = t
            v = np.empty(k)
            f = np.empty(k)
            for t in range(k):
                c = final[order[t]]
                if 1 < c < nb:  # parabolic interpolation of level and frequency
                    y0, ym, yp = spec[i, c - 1], spec[i, c - 2], spec[i, c]
                    p = (yp - ym) / (2 * (2 * y0 - yp - ym))
                    v[t] = y0 - 0.25 * (ym - yp) * p
                    if p >= 0:
                        f[t] = (1 - p) * freq[c - 1] + p * freq[c]
                    else:
                        f[t] = (1 + p) * freq[c - 1] - p * freq[c - 2]
                else:
                    v[t] = spec[i, c - 1]
                    f[t] = freq[c - 1]
            total = 0.0
            for a in range(k):  # the models' lower triangle: the weaker peak a, stronger b
                for b in range(a):
                    s = 0.24 / (0.0207 * min(f[a], f[b]) + 18.96)
                    d = abs(f[b] - f[a])
                    level = (v[a] * v[b]) ** 0.1 * (0.5 * ((2 * v[b]) / (v[a] + v[b])) ** 3.11)
                    total += level * (np.exp(-3.51 * s * d) - np.exp(-5.75 * s * d))
            out[i] = total
        return out

    return scan, roughness_frames


def detect_peaks(arr, freq=None, cthr=0.2, raw=None, fs=44100):
    """Peaks of ``arr`` with at least ``cthr`` prominence, strongest first, with
    parabolic interpolation of level and frequency. Returns (index, level, freq)."""
    arr = np.asarray(arr, dtype=np.float64).ravel()
    if freq is None:
        freq = np.linspace(0, fs / 2.0, len(arr))
    if raw is None:
        raw = arr
    ap = np.concatenate(([-2.0], arr, [-2.0]))
    rp = np.concatenate(([-2.0], raw, [-2.0]))
    fp = np.concatenate(([-1.0], freq, [-1.0]))
    final, n_candidates = _peak_kernels()[0](ap, float(cthr))
    if n_candidates == 0:
        return [], [], []
    if final.size == 0:
        raise TimbralError("peak picking found candidate peaks but none prominent enough")
    # strongest first; equal peaks (never seen in real spectra) in reverse order of
    # position, whatever numpy's sort implementation (the compiled roughness does the same)
    final = final[np.argsort(ap[final], kind="stable")[::-1]]
    idx = final - 1
    values = rp[final]
    xs = fp[final]
    inner = (final > 1) & (final < len(rp) - 2)
    i = final[inner]
    y0, ym, yp = rp[i], rp[i - 1], rp[i + 1]
    p = (yp - ym) / (2 * (2 * y0 - yp - ym))  # a strict local maximum: denominator > 0
    v = values.astype(np.float64)
    x = xs.astype(np.float64)
    v[inner] = y0 - 0.25 * (ym - yp) * p
    x[inner] = np.where(p >= 0, (1 - p) * fp[i] + p * fp[i + 1], (1 + p) * fp[i] - p * fp[i - 1])
    return idx, v, x


# ------------------------------------------------------------ specific loudness (Zwicker)

_FR = np.array(
    [25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250]
    + [1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500]
)
_RAP = np.array([45, 55, 65, 71, 80, 90, 100, 120])
_DLL = np.array(
    [
        [-32, -24, -16, -10, -5, 0, -7, -3, 0, -2, 0],
        [-29, -22, -15, -10, -4, 0, -7, -2, 0, -2, 0],
        [-27, -19, -14, -9, -4, 0, -6, -2, 0, -2, 0],
        [-25, -17, -12, -9, -3, 0, -5, -2, 0, -2, 0],
        [-23, -16, -11, -7, -3, 0, -4, -1, 0, -1, 0],
        [-20, -14, -10, -6, -3, 0, -4, -1, 0, -1, 0],
        [-18, -12, -9, -6, -2, 0, -3, -1, 0, -1, 0],
        [-15, -10, -8, -4, -2, 0, -3, -1, 0, -1, 0],
    ]
)
_LTQ = np.array([30, 18, 12, 8, 7, 6, 5, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], dtype=float)
_A0 = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.5, -1.6, -3.2, -5.4, -5.6, -4, -1.5, 2, 5, 12])
_DCB = np.array(
    [-0.25, -0.6, -0.8, -0.8, -0.5, 0, 0.5, 1.1, 1.5, 1.7, 1.8, 1.8, 1.7, 1.6, 1.4, 1.2]
    + [0.8, 0.5, 0, -0.5]
)
_ZUP = np.array(
    [0.9, 1.8, 2.8, 3.5, 4.4, 5.4, 6.6, 7.9, 9.2, 10.6, 12.3, 13.8, 15.2, 16.7, 18.1]
    + [19.3, 20.6, 21.8, 22.7, 23.6, 24]
)
_RNS = np.array(
    [21.5, 18, 15.1, 11.5, 9, 6.1, 4.4, 3.1, 2.13, 1.36, 0.82, 0.42, 0.30, 0.22, 0.15]
    + [0.10, 0.035, 0]
)
_USL = np.array(
    [
        [13.0, 8.2, 6.3, 5.5, 5.5, 5.5, 5.5, 5.5],
        [9.0, 7.5, 6.0, 5.1, 4.5, 4.5, 4.5, 4.5],
        [7.8, 6.7, 5.6, 4.9, 4.4, 3.9, 3.9, 3.9],
        [6.2, 5.4, 4.6, 4.0, 3.5, 3.2, 3.2, 3.2],
        [4.5, 3.8, 3.6, 3.2, 2.9, 2.7, 2.7, 2.7],
        [3.7, 3.0, 2.8, 2.35, 2.2, 2.2, 2.2, 2.2],
        [2.9, 2.3, 2.1, 1.9, 1.8, 1.7, 1.7, 1.7],
        [2.4, 1.7, 1.5, 1.35, 1.3, 1.3, 1.3, 1.3],
        [1.95, 1.45, 1.3, 1.15, 1.1, 1.1, 1.1, 1.1],
        [1.5, 1.2, 0.94, 0.86, 0.82, 0.82, 0.82, 0.82],
        [0.72, 0.67, 0.64, 0.63, 0.62, 0.62, 0.62, 0.62],
        [0.59, 0.53, 0.51, 0.50, 0.42, 0.42, 0.42, 0.42],
        [0.40, 0.33, 0.26, 0.24, 0.24, 0.22, 0.22, 0.22],
        [0.27, 0.21, 0.20, 0.18, 0.17, 0.17, 0.17, 0.17],
        [0.16, 0.15, 0.14, 0.12, 0.11, 0.11, 0.11, 0.11],
        [0.12, 0.11, 0.10, 0.08, 0.08, 0.08, 0.08, 0.08],
        [0.09, 0.08, 0.07, 0.06, 0.06, 0.06, 0.06, 0.05],
        [0.06, 0.05, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02],
    ]
)


@functools.lru_cache(maxsize=8)
def _third_octave_filters(fs: float):
    """Band-pass designs (order 4, ±1/6 octave) for the top bands and the decimator."""
    from scipy.signal import butter, cheby1

    top = int(np.flatnonzero(_FR == 12500)[0])
    while _FR[top] > fs / 2.0:
        top -= 1
    exps = np.arange(-16, 14)[: top + 1]
    centres = (2.0 ** (exps / 3.0)) * 1000.0
    designs = {}
    for i in range(top, 23, -1):  # bands above index 23 (exponent 7) at the full rate
        f1 = (2.0 ** (-1.0 / 6)) * centres[i] / (fs / 2.0)
        f2 = min((2.0 ** (1.0 / 6)) * centres[i] / (fs / 2.0), 0.9999999999)
        designs[i] = _monic(*butter(4, [f1, f2], "bandpass"))
    return top, designs, _monic(*cheby1(2, 0.1, 0.4))


def _monic(b: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) scaled so that a[0] == 1, as lfilter does before filtering."""
    return b / a[0], a / a[0]


@functools.lru_cache(maxsize=1)
def _iir_kernel():
    """``scipy.signal.lfilter(b, a, x, axis=0)`` (zero initial state; ``a[0] == 1``) of
    every column of a (samples × signals) array, compiled: the same direct-form II
    transposed recursion and roundings as scipy's, run across all columns at each sample
    (vectorised). Returns (y, Σ y² per column, max y per column); with ``keep=False`` y is
    not stored (an empty array)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def iir(b, a, x, keep):  # pragma: no cover - compiled
        n, cols = x.shape
        order = len(a) - 1
        z = np.zeros((order, cols))
        y = np.empty((n if keep else 0, cols))
        yn = np.empty(cols)
        energy = np.zeros(cols)
        peak = np.empty(cols)
        for r in range(cols):  # (np.full and slice assignment: 4x the compile time)
            peak[r] = -np.inf
        for t in range(n):
            for r in range(cols):
                yn[r] = z[0, r] + b[0] * x[t, r]
            for k in range(order - 1):
                bk, ak = b[k + 1], a[k + 1]
                for r in range(cols):
                    z[k, r] = z[k + 1, r] + x[t, r] * bk - yn[r] * ak
            bk, ak = b[order], a[order]
            for r in range(cols):
                z[order - 1, r] = x[t, r] * bk - yn[r] * ak
                energy[r] += yn[r] * yn[r]
                peak[r] = max(peak[r], yn[r])
            if keep:
                for r in range(cols):
                    y[t, r] = yn[r]
        return y, energy, peak

    return iir


def _band_levels(frames: np.ndarray, fs: float) -> np.ndarray:
    """Third-octave band levels (dB + 100) of each row: 28 bands 25 Hz..12.5 kHz.

    The lower bands reuse three band-pass designs on successively 2×-decimated signals.
    All rows are filtered together (samples × windows layout); all-zero rows (a rendered
    note's silent tail) are not filtered: their levels are −inf.
    """
    iir = _iir_kernel()
    top, designs, (c, d) = _third_octave_filters(float(fs))
    active = frames.any(axis=1)
    if not active.all():
        out = np.full((frames.shape[0], top + 1), -np.inf)
        if active.any():
            out[active] = _band_levels(frames[active], fs)
        return out
    levels = np.zeros((frames.shape[0], top + 1))

    def level(b, a, x):
        _, energy, peak = iir(b, a, x, False)
        with np.errstate(divide="ignore"):
            v = 20 * np.log10(np.sqrt(energy / x.shape[0]))
        return np.where(peak > 0, v, -np.inf)

    x = np.ascontiguousarray(frames.T, dtype=np.float64)
    for i in range(top, 23, -1):
        levels[:, i] = level(*designs[i], x)
    for i in range(23, 1, -3):
        x = np.ascontiguousarray(iir(c, d, x, True)[0][1::2])
        levels[:, i] = level(*designs[26], x)
        levels[:, i - 1] = level(*designs[25], x)
        levels[:, i - 2] = level(*designs[24], x)
    return levels + 100.0


def _main_loudness(P: np.ndarray) -> np.ndarray:
    """Zwicker's core loudness per critical band (windows × 21) from third-octave levels
    (windows × 28), as the models compute it: the lowest eleven bands weighted and merged
    into three, the transmission and threshold corrections, the lowest band's correction."""
    Ti = np.zeros((P.shape[0], 11))
    for i in range(11):
        # j = the first row of _DLL whose range limit the level does not exceed (at most 7)
        over = P[:, i, None] > (_RAP[:7] - _DLL[:7, i])[None, :]
        j = np.where(over.all(axis=1), 7, np.argmin(over, axis=1))
        Ti[:, i] = 10.0 ** ((P[:, i] + _DLL[j, i]) / 10.0)
    Gi = np.stack([Ti[:, 0:6].sum(axis=1), Ti[:, 6:9].sum(axis=1), Ti[:, 9:11].sum(axis=1)], 1)
    with np.errstate(divide="ignore"):
        fngi = np.where(Gi.max(axis=1, keepdims=True) > 0.0, 10 * np.log10(Gi), -np.inf)
    le = P[:, 8:28].astype(np.float64).copy()
    le[:, :3] = np.where(Gi > 0, fngi, 0.0)
    le2 = le - _A0 - _DCB
    mp1 = 0.0635 * 10.0 ** (0.025 * _LTQ)
    with np.errstate(over="ignore", invalid="ignore"):
        mp2 = (1 - 0.25 + 0.25 * 10 ** (0.1 * (le2 - _LTQ))) ** 0.25 - 1
    nm = np.where(le > _LTQ, mp1 * mp2, 0.0)
    nm[nm <= 0] = 0.0
    Nm = np.zeros((P.shape[0], 21))
    Nm[:, :20] = nm
    Nm[:, 0] *= np.minimum(0.4 + 0.32 * Nm[:, 0] ** 0.2, 1.0)
    return Nm


@functools.lru_cache(maxsize=1)
def _loudness_kernel():
    """Zwicker's walk over the critical bands (ISO 532 B, as the models do it), compiled:
    total loudness and the 240-point specific loudness of every window."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def walk(Nm, zup, rns, usl):  # pragma: no cover - compiled
        n_win = Nm.shape[0]
        total = np.zeros(n_win)
        spec = np.zeros((n_win, 240))
        filled = np.zeros(n_win, np.int64)
        ns = np.zeros(400)
        for w in range(n_win):
            N = 0.0
            z1 = 0.0
            n1 = 0.0
            n2 = 0.0
            z2 = 0.0
            j = 17
            iz = 0
            used = 0
            z = 0.1
            k = z  # an empty band range keeps the previous band's last k
            for i in range(21):
                ig = min(i - 1, 7)
                first = True
                nmi = Nm[w, i]
                while z1 < zup[i] or first:
                    first = False
                    if n1 < nmi:
                        j = 0
                        while rns[j] > nmi:
                            j += 1
                    if n1 <= nmi:
                        z2 = zup[i]
                        n2 = nmi
                        N += n2 * (z2 - z1)
                        # np.arange(z, z2 + 0.01, 0.1): start + t * ((start + step) - start)
                        count = int(np.ceil((z2 + 0.01 - z) / 0.1))
                        delta = (z + 0.1) - z
                        for t in range(max(count, 0)):
                            k = z + t * delta
                            if iz < ns.shape[0]:
                                ns[iz] = n2
                                used = max(used, iz + 1)
                            if k < z2 - 0.05:  # later steps overwrite one slot
                                iz += 1
                        z = np.rint(k * 10) * 0.1
                    if n1 > nmi:
                        n2 = max(rns[j], nmi)
                        slope = usl[j, ig]
                        dz = np.rint((n1 - n2) / slope * 10) * 0.1
                        if dz == 0:
                            dz = 0.1
                        z2 = z1 + dz
                        if z2 > zup[i]:
                            z2 = zup[i]
                            dz = z2 - z1
                            n2 = n1 - dz * slope
                        N += dz * (n1 + n2) / 2.0
                        count = int(np.ceil((z2 + 0.01 - z) / 0.1))
                        delta = (z + 0.1) - z
                        for t in range(max(count, 0)):
                            k = z + t * delta
                            if iz < ns.shape[0]:
                                ns[iz] = n1 - (k - z1) * slope
                                used = max(used, iz + 1)
                            if k < z2 - 0.05:
                                iz += 1
                        z = np.rint(k * 10) * 0.1
                    if n2 == rns[j]:
                        j += 1
                    j = min(j, 17)
                    n1 = n2
                    z1 = np.rint(z2 * 10) * 0.1
            N = max(N, 0.0)
            if N <= 16:
                N = np.floor(N * 1000 + 0.5) / 1000.0
            else:
                N = np.floor(N * 100 + 0.05) / 100.0
            total[w] = N
            m = min(used, 240)
            for i in range(m):
                spec[w, i] = ns[i]
            filled[w] = used
        return total, spec, filled

    return walk


def specific_loudness(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total loudness N (sone) and the 240-point specific loudness (0.1 Bark steps) of
    every row of third-octave levels (rows × 28), by Zwicker's method (ISO 532 B) as the
    models implement it."""
    total, spec, filled = _loudness_kernel()(_main_loudness(levels), _ZUP, _RNS, _USL)
    if (filled < 240).any():
        raise TimbralError("specific loudness: fewer than 240 critical-band points")
    return total, spec


# ----------------------------------------------------------------- the shared analysis


@dataclass
class Analysis:
    """What several models share for one clip (built lazily, once)."""

    raw: np.ndarray  # mono samples as given (reverb uses these)
    fs: int
    x: np.ndarray = field(init=False)  # loudness-normalised to −24 LUFS
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        raw = np.asarray(self.raw, dtype=np.float64)
        if raw.ndim != 1:
            raise TimbralError("timbral analysis needs mono audio")
        if raw.size == 0:
            raise TimbralError("audio contains no samples")
        if not np.all(np.isfinite(raw)):
            raise TimbralError("audio contains NaN or infinite samples")
        if np.max(np.abs(raw)) == 0.0:
            raise TimbralError("audio is silent; timbral attributes are undefined")
        if self.fs < _MIN_RATE:
            raise TimbralError(
                f"sample rate {self.fs} Hz is below {_MIN_RATE} Hz: resample first "
                "(timbral-models upsamples such audio itself)"
            )
        self.raw = raw
        self.x = _loudness_normalise(raw, self.fs)

    def _get(self, key: str, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def loudness(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per 4096-sample window: total loudness N, specific loudness (240) and RMS."""

        def make():
            w = _windows(self.x)
            levels = _band_levels(w, self.fs)
            n_total, spec = specific_loudness(levels)
            rms = np.sqrt(np.mean(w * w, axis=1))
            return n_total, spec, rms

        return self._get("loudness", make)

    def bark_level(self, lo: int, hi: int) -> float:
        """RMS-weighted mean of the specific loudness under a bell over bands lo..hi."""
        _, spec, rms = self.loudness
        return float(np.average(spec @ _bell(lo, hi), weights=rms))

    @property
    def stft_x(self) -> np.ndarray:
        """:func:`stft_frames` of ``x`` (frames × bins): HPSS and warmth's onsets."""
        return self._get("stft_x", lambda: stft_frames(self.x))

    @property
    def env_x(self) -> np.ndarray:
        return self._get("env_x", lambda: envelope(self.x, self.fs, decay_time=0.1))

    @property
    def highpassed(self) -> np.ndarray:
        """``x`` after three 2nd-order 20 Hz high-pass passes (depth and brightness)."""
        return self._get("hp20", lambda: _butter_cascades(self.x, self.fs, (20, "high"))[:, 0])

    @property
    def highpassed_bands(self) -> np.ndarray:
        """:attr:`highpassed` through the low-passes at 2 kHz and 500 Hz (depth) and the
        high-passes at 2 kHz and 100 Hz (brightness), as four columns."""
        bands = ((2000, "low"), (500, "low"), (2000, "high"), (100, "high"))
        return self._get("hp_bands", lambda: _butter_cascades(self.highpassed, self.fs, *bands))


# ------------------------------------------------------------------------- the models


def _attack(env_seg, fs, max_attack_time=-1.0, fixed=False):
    """(log10 attack time, start index) of the rise to the segment's peak, or None."""
    e = np.array(env_seg, dtype=np.float64)
    e /= float(e.max())
    peak = int(np.argmax(e))
    if peak == 0:
        return None
    pre = e[:peak]
    start0 = int(np.flatnonzero(pre == pre.min())[-1])
    e = e[start0 : peak + 1]
    lo, hi = e.min(), e.max()
    dyn = hi - lo
    if fixed:
        s = int(np.argmax(e >= 0.2 * dyn + lo))
        end = int(np.argmax(e[s:] >= 0.9 * dyn + lo)) + s
    else:
        step = 1.0 / 10
        levels = np.linspace(step, 1 - step, 9) * dyn + lo
        idxs = np.array([np.argmax(e >= t) for t in levels], dtype=float)
        effort = np.diff(idxs)
        thr = effort.mean() * 3
        ts = int(np.argmax(effort <= thr))
        te = int(np.argmax(effort[ts:] >= thr))
        if te == 0:
            te = len(effort[ts:]) - 1
        te += ts
        s, end = idxs[ts], idxs[te]
        if s == end:
            s, end = idxs[0], idxs[-1]
    t = 1.0 / fs if s == end else (end - s + 1.0) / fs
    if max_attack_time > 0 and t > max_attack_time:
        end = s + int(fs * max_attack_time)
        t = (end - s + 1.0) / fs
    return np.log10(t), int(s + start0)


def _attack_centroid(seg: np.ndarray, fs: int) -> float | None:
    """Spectral centroid (Hz, above 20 Hz) of a short attack segment; None if silent."""
    n = int(2 ** np.ceil(np.log2(len(seg))))
    spec = np.abs(np.fft.fft(seg, n))[: n // 2 + 1]
    if spec.sum() <= 0:
        return None
    freq = np.arange(len(spec)) * (fs / (2.0 * (len(spec) - 1)))
    k = int(np.flatnonzero(freq >= 20)[0])
    return float(np.sum(spec[k:] * freq[k:]) / float(np.sum(spec[k:])))


def _attack_bandwidth(x: np.ndarray, fs: int, nper: int, step: int):
    """(level, bandwidth) per frame of a rectangular-window STFT (``nper`` samples every
    ``step``, per-frame mean removed, magnitude with density scaling as
    ``scipy.signal.spectrogram(mode="magnitude")``).

    ``level`` is the frame's summed magnitude; ``bandwidth`` (Hz) runs from the roll-on
    bin (5 % of the level accumulated) to the last bin at or above −75 dB. Frames that
    hold only zeros (leading padding, silent tails) have level and bandwidth 0 and are
    not transformed.
    """
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    starts = np.arange(0, len(x) - nper + 1, step)
    level = np.zeros(len(starts))
    bandwidth = np.zeros(len(starts))
    # every frame from the first to the last one holding a non-zero sample (an all-zero
    # frame in between gives level and bandwidth 0, as if skipped)
    lo, hi = _active_frames(x, starts, nper)
    if lo >= hi:
        return level, bandwidth
    active = np.arange(lo, hi)
    # single precision: this is the largest transform of the analysis, and only bin
    # positions against a −75 dB threshold and 5 % roll-on are read from it. Transformed
    # and reduced a block of frames at a time (the full spectrogram would be ~60 MB).
    frames = sliding_window_view(x.astype(np.float32), nper)[::step][active[0] : active[-1] + 1]
    n_bins = nper // 2 + 1
    freq = np.arange(n_bins) * fs / nper
    gain, share = np.float32(np.sqrt(1.0 / (fs * nper))), np.float32(0.05)
    floor = np.float32(_db2mag(-75))  # as numpy compares single-precision spectra with it
    edges = _band_edges_kernel()
    lev = np.empty(len(frames), dtype=np.float32)
    width = np.empty(len(frames))
    for s in range(0, len(frames), _BLOCK_FRAMES):
        spec = np.abs(scipy.fft.rfft(frames[s : s + _BLOCK_FRAMES], axis=1))
        spec[:, 0] = 0.0  # removing each frame's mean zeroes exactly the DC bin
        spec *= gain
        block_lev = spec.sum(axis=1)
        lev[s : s + len(spec)] = block_lev
        edges(spec, block_lev * share, floor, freq, width[s : s + len(spec)])
    level[active] = lev
    bandwidth[active] = width
    return level, bandwidth


@functools.lru_cache(maxsize=1)
def _band_edges_kernel():
    """The attack bandwidth of each row of single-precision magnitude spectra, in Hz
    (written to ``width``): from the roll-on bin, where the running sum (single
    precision, in order, as ``np.cumsum``) first reaches the row's ``thr``, to the last
    bin at or above ``floor``; 0 when no bin reaches ``floor``."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def edges(spec, thr, floor, freq, width):  # pragma: no cover - compiled
        rows, bins = spec.shape
        for r in range(rows):
            acc = np.float32(0.0)
            on = 0
            for k in range(bins):
                acc += spec[r, k]
                if acc >= thr[r]:
                    on = k
                    break
            off = -1
            for k in range(bins - 1, -1, -1):
                if spec[r, k] >= floor:
                    off = k
                    break
            width[r] = freq[off] - freq[on] if off >= 0 else 0.0

    return edges


def hardness(a: Analysis) -> float:
    """Apparent hardness: attack bandwidth, attack centroid, mid-band level, percussive
    ratio, onset strength and attack time in a linear model."""
    fs = a.fs
    midband = a.bark_level(70, 140)
    hp_ratio = percussive_ratio(a.x, a.stft_x)

    nper = 4096
    xp = np.concatenate([np.zeros(nper + 1), a.x])
    env = np.concatenate([np.zeros(nper + 1), a.env_x])
    strength = _onset_strength(xp, fs)
    orig = onsets(xp, env, fs, strength, floor=nper)
    if len(orig) == 1:
        orig = [0]
    ons = np.array(orig) - nper
    ons[ons < 0] = 0

    step = 128
    level, bandwidth = _attack_bandwidth(xp, fs, nper, step)
    min_power = 0.1 * (level.max() - level.min()) + level.min()
    bandwidth = np.where(level > min_power, bandwidth, 0.0)
    bw_fs = fs / float(step)

    bw_max, attack_times, strengths, bw_strengths, centroids = [], [], [], [], []
    bw_onsets = (ons / float(step)).astype(int)
    for n, onset in enumerate(bw_onsets):
        seg = bandwidth[onset:] if onset == bw_onsets[-1] else bandwidth[onset : bw_onsets[n + 1]]
        bw_attack = None
        if seg.max() > 0:
            bw_attack = _attack(seg, bw_fs, 0.1, fixed=True)
            if bw_attack is not None:
                s = bw_attack[1]
                span = int(0.1 * bw_fs)
                tail = seg[s:]
                bw_max.append(seg[s : s + span].max() if len(tail) > s + span else tail.max())
        o = orig[n]
        last = o == orig[-1]
        env_seg = env[o:] if last else env[o : orig[n + 1]]
        str_seg = (
            strength[int(o / 512) :] if last else strength[int(o / 512) : int(orig[n + 1] / 512)]
        )
        audio_seg = xp[o:] if last else xp[o : orig[n + 1]]
        att = _attack(env_seg, fs, 0.1)
        if att is None:
            raise TimbralError("hardness: an onset segment has its envelope peak at its start")
        attack_times.append(att[0])
        strengths.append(str_seg.max())
        if bw_attack is not None:
            bw_strengths.append(str_seg.max())
        span = int(0.125 * fs)
        audio_seg = (
            audio_seg[att[1] :]
            if att[1] + span >= len(audio_seg)
            else audio_seg[att[1] : att[1] + span]
        )
        if len(audio_seg) > 512:
            c = _attack_centroid(audio_seg, fs)
            if c is not None:
                centroids.append(c)

    bw = np.average(bw_max, weights=bw_strengths) if bw_max else fs / 512.0
    if bw <= 512.0:
        bw = fs / 512.0
    centroid = max(np.mean(centroids) if centroids else 200.0, 200.0)
    feats = np.array(
        [
            np.log10(bw),
            np.log10(centroid),
            np.log10(midband),
            np.log10(hp_ratio),
            np.log10(np.mean(strengths)),
            np.mean(attack_times),
            1.0,
        ]
    )
    coef = np.array([12.079781720638145, 18.52100377170042, 14.139883645260355])
    coef = np.concatenate([coef, [5.567690321917516, 3.9346817690405635]])
    coef = np.concatenate([coef, [-4.326890461087848, -85.60352209068202]])
    return _clip100(float(np.sum(feats * coef)))


def _rms_envelope(x, step, hop, normalise=True):
    """RMS of ``step``-sample frames every ``hop`` samples, then the RMS of the rest of
    the clip from the hop after the last frame (optionally scaled to a maximum of 1)."""
    n = len(x)
    starts = np.arange(0, max(n - step, 0), hop)
    if n - step > 0:
        starts = starts[starts < n - step]
    last = starts[-1] + hop if starts.size else 0
    if starts.size and (step == hop or _halves_are_pairwise(step, hop)):
        # frames made of whole hops: each hop's squares summed once, as numpy's pairwise
        # summation of a frame would sum them (same values, no frame copies)
        k = step // hop
        sq = x[: (len(starts) + k - 1) * hop]
        sums = np.sum((sq * sq).reshape(-1, hop), axis=1)
        if k == 2:
            sums = sums[:-1] + sums[1:]
        body = np.sqrt(sums / step)
    elif starts.size:
        from numpy.lib.stride_tricks import sliding_window_view

        frames = sliding_window_view(x, step)[starts]
        body = np.sqrt(np.mean(frames * frames, axis=1))
    else:
        body = np.zeros(0)
    tail = x[last:]
    env = np.concatenate([body, [np.sqrt(np.mean(tail * tail))]])
    if normalise:
        env = env * (1.0 / np.max(np.abs(env)))
    return env


def _halves_are_pairwise(step: int, hop: int) -> bool:
    """Whether numpy sums a ``step``-element row as the sums of its two ``hop``-element
    halves: its pairwise summation splits rows longer than 128 at half the length,
    rounded down to a multiple of 8."""
    return step == 2 * hop and step > 128 and hop % 8 == 0


def _spec(x, fs, nfft, noverlap):
    """``scipy.signal.spectrogram(x, fs, "hamming", nfft, noverlap, nfft, "constant", True,
    "spectrum")`` (freqs, times, bins × frames); clips shorter than ``nfft`` use one
    whole-clip frame, as the models do. The models' full-length spectrograms are only
    ever reduced: :func:`_spectral_sums` computes those reductions a block at a time."""
    from scipy.signal import spectrogram

    if len(x) > nfft:
        return spectrogram(x, fs, "hamming", nfft, noverlap, nfft, "constant", True, "spectrum")
    return spectrogram(x, fs, "hamming", len(x), len(x) - 1, nfft, "constant", True, "spectrum")


@functools.lru_cache(maxsize=8)
def _spectrum_window(n: int, window: Any = "hamming", fs: float | None = None):
    """(window, power scale) of ``scipy.signal.spectrogram``'s ``n``-point ``window``:
    1 / Σwindow² ("spectrum" scaling) or, given ``fs``, 1 / (fs·Σwindow²) ("density")."""
    from scipy.signal import get_window

    win = get_window(window, n)
    win.setflags(write=False)  # shared by every caller
    scale = 1.0 / win.sum() ** 2 if fs is None else 1.0 / (fs * (win * win).sum())
    return win, float(scale)


def _is_framed(x: np.ndarray, nfft: int, full_if_equal: bool) -> bool:
    """Whether :func:`_spec` frames ``x`` (else: one zero-padded whole-clip frame)."""
    return len(x) > nfft or (full_if_equal and len(x) == nfft)


def _spectral_sums(
    x, fs, nfft, noverlap, dtype=np.float64, *, full_if_equal=False, window=None, density=False
):
    """Reductions of :func:`_spec`'s power spectrogram P (bins × frames) without holding
    it: (per frame Σ_k P, per frame Σ_k f_k·P, per bin Σ_t P), f the bin frequencies.
    ``window`` and ``density`` give scipy's spectrogram with another window (by default
    Hamming) and density scaling instead (only for clips of at least ``nfft`` samples).

    The frames are windowed and transformed a block at a time in ``dtype`` (float32:
    about twice as fast, for spectra that are only summed into centroids); the power and
    the sums are in double precision, with scipy's operations and numpy's summation
    order, so in double precision the sums are those of the full spectrogram."""
    import scipy.fft

    freq = np.fft.rfftfreq(nfft, 1.0 / fs)
    if not _is_framed(x, nfft, full_if_equal) or nfft % 2:
        if window is not None or density:
            raise ValueError("another window or density scaling needs whole frames")
        P = _spec(x, fs, nfft, noverlap)[2]
        return P.sum(axis=0), (P * freq[:, None]).sum(axis=0), P.sum(axis=1)
    win, scale = _spectrum_window(nfft, window or "hamming", fs if density else None)
    starts = np.arange(0, len(x) - nfft + 1, nfft - noverlap)
    per_frame, weighted = np.zeros(len(starts)), np.zeros(len(starts))
    per_bin = np.zeros(nfft // 2 + 1)
    x = np.ascontiguousarray(x, dtype=np.float64)
    framer, sums = _window_kernel(), _power_sums_kernel()
    out = np.empty((_BLOCK_FRAMES, nfft), dtype=dtype)
    # all-zero frames (a note's silent tail) add zero power: not transformed
    lo, hi = _active_frames(x, starts, nfft)
    for s in range(lo, hi, _BLOCK_FRAMES):
        block = framer(x, starts[s : min(s + _BLOCK_FRAMES, hi)], win, out[: hi - s])
        sums(
            scipy.fft.rfft(block, axis=1), float(scale), freq, per_frame[s:], weighted[s:], per_bin
        )
    return per_frame, weighted, per_bin


@functools.lru_cache(maxsize=1)
def _window_kernel():
    """Frames of ``x`` (``nfft = len(win)`` samples from each of ``starts``), each less
    its mean (summed as numpy sums) and times ``win``, into the rows of ``out`` (its dtype:
    float64, or float32 from double-precision products): scipy's detrend="constant" and
    windowing, in one pass without the intermediate frames."""
    import numba

    _register_helpers()

    @numba.njit(cache=True, nogil=True)
    def window(x, starts, win, out):  # pragma: no cover - compiled
        n = win.shape[0]
        work = np.empty(4 * 64)
        for i in range(starts.shape[0]):
            lo = starts[i]
            mean = _pairwise_sum(x, lo, n, work) / n
            for j in range(n):
                out[i, j] = (x[lo + j] - mean) * win[j]
        return out

    return window


@functools.lru_cache(maxsize=1)
def _power_sums_kernel():
    """The compiled reductions of :func:`_spectral_sums` for one block of spectra."""
    import numba

    _register_helpers()

    @numba.njit(cache=True, nogil=True)
    def sums(z, scale, freq, per_frame, weighted, per_bin):  # pragma: no cover - compiled
        frames, bins = z.shape
        p = np.empty(bins)
        work = np.empty(4 * 64)
        for t in range(frames):
            for k in range(bins):
                re, im = np.float64(z[t, k].real), np.float64(z[t, k].imag)
                v = (re * re + im * im) * scale  # scipy: (conj(z) * z) * scale
                if 0 < k < bins - 1:
                    v *= 2.0  # one-sided (even nfft: the last bin is Nyquist's)
                p[k] = v
                per_bin[k] += v  # numpy's order: frame after frame
            per_frame[t] = _pairwise_sum(p, 0, bins, work)
            for k in range(bins):
                p[k] *= freq[k]
            weighted[t] = _pairwise_sum(p, 0, bins, work)

    return sums


def _spec_energy(x, fs, nfft, noverlap, *, full_if_equal=False) -> np.ndarray:
    """Per frame, the sum over frequency of :func:`_spec`'s power spectrogram, computed
    in the time domain (Parseval: the one-sided power spectrum of an even-length frame
    sums to ``nfft`` × the frame's energy × the spectrum scaling), in double precision
    and without a Fourier transform; short clips sum :func:`_spec` itself."""
    if not _is_framed(x, nfft, full_if_equal) or nfft % 2:
        return _spec(x, fs, nfft, noverlap)[2].sum(axis=0)
    win, scale = _spectrum_window(nfft)
    starts = np.arange(0, len(x) - nfft + 1, nfft - noverlap)
    x = np.ascontiguousarray(x, dtype=np.float64)
    window = _window_kernel()
    out = np.empty(len(starts))
    y = np.empty((_BLOCK_FRAMES, nfft))
    for s in range(0, len(starts), _BLOCK_FRAMES):
        block = window(x, starts[s : s + _BLOCK_FRAMES], win, y[: len(starts) - s])
        out[s : s + len(block)] = np.einsum("ij,ij->i", block, block)
    return out * (scale * nfft)


def depth(a: Analysis) -> float:
    """Apparent depth: low-frequency centroid and energy ratio, decay duration and pitch."""
    fs = a.fs
    hp = a.highpassed
    lp_c, lp_r = a.highpassed_bands[:, 0], a.highpassed_bands[:, 1]
    g = 1.0 / np.max(np.abs(hp))
    hp, lp_c, lp_r = hp * g, lp_c * g, lp_r * g
    # double precision where peaks are picked (pitch), single for the centroid's spectra
    freq = np.fft.rfftfreq(4096, 1.0 / fs)
    tpower, _, total = _spectral_sums(hp, fs, 4096, 3072)
    c_power, c_weighted, _ = _spectral_sums(lp_c, fs, 4096, 3072, np.float32)
    on = tpower > _db2mag(-60)
    with np.errstate(divide="ignore", invalid="ignore"):
        cen = np.where(on, c_weighted / c_power, 0.0)
        ratio = np.where(on, _spec_energy(lp_r, fs, 4096, 3072) / tpower, 0.0)
    centroid = min(np.average(cen, weights=tpower), 2000.0)
    low_ratio = np.average(ratio, weights=tpower)

    env = envelope(hp, fs)
    ons = onsets(hp, env, fs, _onset_strength(hp, fs))
    rms = _rms_envelope(hp, 256, 256)
    thr = _db2mag(-40)
    conv = fs / 256.0
    frames = (np.array(ons) / 256.0).astype(int)
    durations = []
    for n, o in enumerate(frames):
        seg = rms[o:] if o == frames[-1] else rms[o : frames[n + 1]]
        post = seg[int(np.argmax(seg)) :]
        below = np.flatnonzero(post < thr)
        durations.append((below[0] if below.size else len(post)) / conv)
    duration = np.log10(np.mean(durations))

    norm = (total - total.min()) / (total.max() - total.min())
    _, _, pf = detect_peaks(norm, freq=freq, cthr=0.01, raw=norm)
    if not len(pf):  # timbral-models fails here too (an index error)
        raise TimbralError("depth: the spectrum has no peak to take the pitch from")
    pitch = np.log10(np.min(pf)) if pf[0] > 0 else 0.0
    sig = low_ratio**10 / (low_ratio**10 + 0.2)
    feats = np.array(
        [centroid, low_ratio, duration, pitch, low_ratio * duration, sig * duration, 1.0]
    )
    coef = np.array(
        [-0.0043703565847874465, 32.83743202462131, 4.750862716905235, -14.217438690256062]
        + [3.8782339862813924, -0.8544826091735516, 66.69534393444391]
    )
    return _clip100(float(np.sum(feats * coef)))


def brightness(a: Analysis) -> float:
    """Apparent brightness: energy ratio above 2 kHz and the centroid above 100 Hz."""
    fs = a.fs
    hp = a.highpassed
    r, c = a.highpassed_bands[:, 2], a.highpassed_bands[:, 3]
    g = 1.0 / np.max(np.abs(hp))
    hp, r, c = hp * g, r * g, c * g
    # only the centroid needs a spectrum; the energy ratio sums two by Parseval
    tpower = _spec_energy(hp, fs, 2048, 1536, full_if_equal=True)
    hp_power = _spec_energy(r, fs, 2048, 1536, full_if_equal=True)
    cpower, c_weighted, _ = _spectral_sums(c, fs, 2048, 1536, np.float32, full_if_equal=True)
    keep = tpower > 0
    ratio = np.average(hp_power[keep] / tpower[keep], weights=tpower[keep])
    ck = cpower > 0.0
    centroid = np.average(c_weighted[ck] / cpower[ck], weights=cpower[ck])
    coef = np.array([4.613128018020465, 17.378889309312974, 17.434733750553022])
    return _clip100(float(np.sum(np.array([np.log10(ratio), np.log10(centroid), 1.0]) * coef)))


def roughness(a: Analysis) -> float:
    """Apparent roughness: Plomp–Levelt dissonance of spectral peak pairs, 50 ms frames."""
    fs = a.fs
    x = np.concatenate([np.zeros(512), a.x])
    n = len(x)
    step = int(fs * 0.05)
    hop = step / 2
    n_frames = int(n / (step - hop))
    if n_frames == 0:  # timbral-models fails here too
        raise TimbralError("roughness: the clip is shorter than one 25 ms hop")
    nfft = 2 ** int(np.log(step) / np.log(2) + 1)
    win = np.hamming(step + 2)[1:-1]
    # magnitude spectra of the zero-padded frames (frames past the last start stay zero),
    # transformed a block at a time
    spec = np.zeros((n_frames, nfft // 2 + 1))
    if n > step:
        import scipy.fft
        from numpy.lib.stride_tricks import sliding_window_view

        starts = (np.arange(n_frames + 2) * (step / 2.0)).astype(int)
        starts = starts[starts + step <= n][:n_frames]
        lo, hi = _active_frames(x, starts, step)  # the others' spectra stay zero
        view = sliding_window_view(x, step)
        for s in range(lo, hi, _BLOCK_FRAMES):
            rows = view[starts[s : min(s + _BLOCK_FRAMES, hi)]] * win
            spec[s : s + len(rows)] = np.abs(scipy.fft.rfft(rows, n=nfft, axis=1))
    else:
        frame = np.zeros(nfft)
        frame[:n] = x
        spec[0] = np.abs(np.fft.rfft(frame))
    freq = fs / 2 * np.linspace(0, 1, spec.shape[1])
    values = _peak_kernels()[1](spec, spec.min(), spec.max(), freq, 0.01)
    if np.isnan(values).any():
        raise TimbralError("peak picking found candidate peaks but none prominent enough")
    mean = np.mean(values)
    if mean < 0.01:
        return 0.0
    return _clip100(float(np.log10(mean) * 13.98779569 + 48.97606571545886))


def warmth(a: Analysis) -> float:
    """Apparent warmth: warm-region and high-frequency loudness, spectral centroid,
    high-frequency decay fit and low-frequency energy ratio per note."""
    from scipy.signal import spectrogram

    fs = a.fs
    x = a.x
    _, spec_l, rms_w = a.loudness
    mean_wr = float(np.mean(spec_l @ _bell(10, 40)))
    weighted_hf = float(np.average(spec_l @ _bell(80, 240), weights=rms_w))
    env = a.env_x
    strength = _onset_strength(x, fs, a.stft_x)
    ons = onsets(x, env, fs, strength, floor=4096)
    if len(ons) == 1:
        ons = [0]
    rms_l, ratios, cents, decays = [], [], [], []
    for n, o in enumerate(ons):
        seg = x[o:] if o == ons[-1] else x[o : ons[n + 1]]
        rms_l.append(np.sqrt(np.mean(seg * seg)))
        nseg = len(seg)
        if nseg < 8192:
            freq, _, s = spectrogram(seg, fs, nperseg=nseg, nfft=8192)
        else:  # scipy's default spectrogram (Tukey 0.25, 1/8 overlap) summed over frames
            freq = np.fft.rfftfreq(8192, 1.0 / fs)
            s = _spectral_sums(
                seg, fs, 8192, 1024, full_if_equal=True, window=("tukey", 0.25), density=True
            )[2]
        s = np.array(s, dtype=np.float64).ravel()
        s /= np.max(np.abs(s))
        pidx, _, px = detect_peaks(s, freq=freq, fs=fs)
        if not len(px):  # timbral-models fails here too
            raise TimbralError("warmth: a note's spectrum has no peak (no fundamental)")
        fund = np.min(px)
        fund_idx = np.min(pidx)
        upper = min(fund * 3.5, 12000)
        up_idx = int(np.flatnonzero(freq > upper)[0])
        if fund < 260:
            top = int(np.flatnonzero(freq > 260)[0])
            ratios.append(np.sum(s[fund_idx:top]) / float(np.sum(s)))
        else:
            ratios.append(0.0)
        cents.append(np.sum(freq * s) / float(np.sum(s)))
        with np.errstate(divide="ignore"):
            ys = np.log10(s[up_idx:])
            xs = np.log10(freq[up_idx:])
        if not (np.all(np.isfinite(ys)) and np.all(np.isfinite(xs))):
            raise TimbralError("warmth: spectrum has empty bins above the warm region")
        design = np.stack([xs, np.ones_like(xs)], axis=1)
        coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
        resid = ys - design @ coef
        tot = ys - ys.mean()
        denom = np.dot(tot, tot)
        decays.append(1.0 - np.dot(resid, resid) / denom if denom != 0 else 1.0)
    feats = np.array(
        [
            np.log10(np.mean(cents)),
            weighted_hf,
            mean_wr,
            np.mean(decays),
            np.average(ratios, weights=rms_l),
            1.0,
        ]
    )
    coef = np.array(
        [-4.464258317026696, -0.08819320850778556, 0.29156539973575546, 17.274733561081554]
        + [8.403340066029507, 45.21212125085579]
    )
    return _clip100(float(np.sum(feats * coef)))


def _sharpness_weights(n: int) -> np.ndarray:
    z = np.arange(141, n + 1) / 10.0
    g = np.concatenate([np.ones(140), 0.00012 * z**4 - 0.0056 * z**3 + 0.1 * z**2 - 0.81 * z + 3.5])
    return g * np.arange(0.1, n / 10.0 + 0.1, 0.1)[:n]


def sharpness(a: Analysis) -> float:
    """Apparent sharpness: Fastl's sharpness of each window, power-weighted."""
    n_total, spec, rms = a.loudness
    w = _sharpness_weights(spec.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        per = 0.11 * (spec * w * 0.1).sum(axis=1) / (spec * 0.1).sum(axis=1)
    per = np.where(n_total > 0, per, 0.0)
    s = np.log10(np.average(per, weights=rms * rms))
    return _clip100(float(s * 102.50508921364404 + 34.432655185001735))


@functools.lru_cache(maxsize=1)
def _boom_weights() -> tuple[np.ndarray, int]:
    z = np.arange(0.1, 24.05, 0.1)
    f = 600 * np.sinh(z / 6.0)
    log_fr = np.log10(_FR)
    idx = (np.log10(f) - log_fr[0]) / float(log_fr[1] - log_fr[0]) + 1
    w = 2.13 * np.exp(-0.151 * idx)
    w[:4] = [0.8, 1.05, 1.10, 1.18]
    return w, int(np.flatnonzero(f >= 280)[0])


def boominess(a: Analysis) -> float:
    """Apparent boominess: Hatano–Hashimoto booming index, power-weighted, plus the
    low-band loudness."""
    n_total, spec, rms = a.loudness
    w, cut = _boom_weights()
    with np.errstate(divide="ignore", invalid="ignore"):
        band = 10 * np.log10(np.sum(10 ** ((spec * w) / 10.0), axis=1))
        per = band * (spec[:, :cut].sum(axis=1) / spec.sum(axis=1))
    per = np.where(n_total > 0, per, 0.0)
    boom = np.log10(np.average(per, weights=rms * rms))
    low = np.log10(float(np.mean(spec @ _bell(0, 70))))
    coef = np.array([43.67402696195865, -10.90054738389845, 26.836530575185435])
    return _clip100(float(np.sum(np.array([boom, low, 1.0]) * coef)))


def reverb(a: Analysis) -> int:
    """Reverberation (0/1): blind RT60 estimate from free-decay segments (Löllmann et
    al.), logistic decision at p ≥ 0.5 (RT60 ≥ 0.488 s)."""
    rt = rt60(a.raw, a.fs)
    logit = 2.97126461 * rt - 1.45082989
    return int(np.exp(logit) / (1.0 + np.exp(logit)) >= 0.5)


def rt60(x: np.ndarray, fs: int) -> float:
    """Mean smoothed maximum-likelihood RT60 over frames with a detected decay.

    Each frame (``nos_max`` sub-frames) counts how many successive sub-frames shrink in
    variance and range; a run of 3..4 that then breaks is a free decay, whose RT60 is
    the maximum-likelihood fit over the candidate times ``tq``. The per-frame estimates
    feed a sliding histogram whose mode is exponentially smoothed. The runs are counted
    by a compiled kernel (:func:`_decay_runs`); the fits are batched per decay length.
    """
    no = fs / 24000.0
    down = 2 if fs > 8e3 else 1
    n_sub = int(round(no * 700 / down))
    n_shift = int(round(no * 200 / down))
    nos_min, nos_max = 3, 7
    n_frame = nos_max * n_sub
    tq = np.arange(0.2, 1.1 + 0.05, 0.1)
    decay = np.exp(-3.0 * np.log(10) / (tq * (fs / down)))
    buffer_size = int(round(no * 800 / down))
    limits = np.arange(0.2 - 0.05, 1.1 + 0.1, 0.1)
    block = n_frame * down
    if block >= len(x):
        return float(tq[0])
    from numpy.lib.stride_tricks import sliding_window_view

    starts = np.arange(0, len(x) - block + 1, n_shift)
    x = np.ascontiguousarray(x, dtype=np.float64)
    cnt, broke = _decay_runs()(x, starts, down, n_sub, nos_max)

    xd = x[::down] if n_shift % down == 0 else None
    if xd is not None:  # every frame starts on the decimation grid: decimate once
        offsets = starts // down

        def heads(rows: np.ndarray, n: int) -> np.ndarray:
            return sliding_window_view(xd, n)[offsets[rows]]
    else:
        frames = sliding_window_view(x, block)[starts][:, ::down]

        def heads(rows: np.ndarray, n: int) -> np.ndarray:
            return frames[rows, :n]

    n_f = len(starts)
    # like the reference, a run that lasts through every sub-frame has no estimate
    ml = np.full(n_f, -1.0)
    for c in range(nos_min, nos_max - 1):
        rows = np.flatnonzero(broke & (cnt == c))
        if rows.size:
            ml[rows] = _ml_rt(heads(rows, c * n_sub), decay, tq)

    hist = np.zeros(len(tq))
    buf = np.zeros(buffer_size)
    counter = 0
    last, raw_rt = 0.3, 0.3
    rt_est = np.empty(n_f)
    lim = limits.tolist()
    for f, m in enumerate(ml.tolist()):
        if m >= 0:
            counter += 1
            index = next(i for i in range(len(tq)) if lim[i] <= m <= lim[i + 1])
            hist[index] += 1
            if counter > buffer_size + 1:
                hist[int(buf[0])] -= 1
            buf = np.append(buf[1:], index)
            raw_rt = float(tq[int(np.argmax(hist))])
        last = 0.995 * last + 0.005 * raw_rt
        rt_est[f] = last
    ml = np.clip(ml, 0, ml.max())
    sel = rt_est[ml > 0]
    return float(sel.mean()) if sel.size else float(tq[0])


def _pairwise_block(a: np.ndarray, lo: int, n: int) -> float:  # pragma: no cover
    """numpy's sum of at most 128 values: eight interleaved accumulators (fewer than
    eight values: one), then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def _pairwise_sum(a: np.ndarray, lo: int, n: int, work: np.ndarray) -> float:  # pragma: no cover
    """``np.sum(a[lo:lo + n])`` in numpy's own order, so compiled statistics round as numpy's
    do: above 128 values, the sum of the two halves (the first rounded down to a multiple
    of 8), recursively; :func:`_pairwise_block` below. Iterative (numba compiles no
    recursion here): ``work`` is a scratch array of at least 4 × 64 floats."""
    # an explicit stack of (start, length, phase, left sum); phase 0: expand the left
    # half, 1: the right half, 2: add them
    sp = 0
    work[0], work[1], work[2] = lo, n, 0.0
    ret = 0.0
    while sp >= 0:
        at = 4 * sp
        lo, m, phase = int(work[at]), int(work[at + 1]), int(work[at + 2])
        if m <= 128:
            ret = _pairwise_block(a, lo, m)
            sp -= 1
            continue
        half = m // 2
        half -= half % 8
        if phase == 0:
            work[at + 2] = 1.0
            sp += 1
            work[at + 4], work[at + 5], work[at + 6] = lo, half, 0.0
        elif phase == 1:
            work[at + 2], work[at + 3] = 2.0, ret
            sp += 1
            work[at + 4], work[at + 5], work[at + 6] = lo + half, m - half, 0.0
        else:
            ret = work[at + 3] + ret
            sp -= 1
    return ret


@functools.lru_cache(maxsize=1)
def _register_helpers() -> None:
    """Make the module-level helpers of the compiled kernels (the pairwise sum, the
    strided variance) callable from compiled code, once per process (as globals, so the
    kernels that call them are found in numba's on-disk cache by the next process)."""
    from numba.extending import register_jitable

    for helper in (_pairwise_block, _pairwise_sum, _strided_var):
        register_jitable(helper)


def _strided_var(x, base, down, n, buf, work) -> float:  # pragma: no cover - compiled
    """``np.var`` of ``x[base + down·j]`` for j < n, with numpy's operations and summation
    order (``buf``: scratch of at least n floats; ``work``: :func:`_pairwise_sum`'s)."""
    for j in range(n):
        buf[j] = x[base + down * j]
    mean = _pairwise_sum(buf, 0, n, work) / n
    for j in range(n):
        d = buf[j] - mean
        buf[j] = d * d
    return _pairwise_sum(buf, 0, n, work) / n


@functools.lru_cache(maxsize=1)
def _decay_runs():
    """:func:`rt60`'s free-decay detection, compiled: per frame (``x[start + down·j]``),
    the variance (as ``np.var`` computes it), minimum and maximum of sub-frame 0
    (``[0, n_sub)``) and then of sub-frames ``[(k−1)·n_sub, k·n_sub]``; the run goes on
    while the variance and the maximum fall and the minimum rises. Returns (per frame,
    the run's length; whether it broke before the last sub-frame)."""
    import numba

    _register_helpers()

    @numba.njit(cache=True, nogil=True)
    def runs(x, starts, down, n_sub, nos_max):  # pragma: no cover - compiled
        n_f = starts.shape[0]
        cnt = np.zeros(n_f, np.int64)
        broke = np.zeros(n_f, np.bool_)
        buf = np.empty(n_sub + 1)
        work = np.empty(4 * 64)
        for f in range(n_f):
            n0 = x0 = v0 = 0.0
            base0, len0, known0 = 0, 0, False  # the previous sub-frame; its variance known?
            for k in range(1, nos_max):
                lo = 0 if k == 1 else (k - 1) * n_sub
                n = n_sub if k == 1 else n_sub + 1
                base = starts[f] + down * lo
                mn = mx = x[base]
                for j in range(n):
                    v = x[base + down * j]
                    mn = min(mn, v)
                    mx = max(mx, v)
                if k > 1:
                    # the run goes on while variance and maximum fall and the minimum
                    # rises; the variances are computed only when the extremes agree
                    if not (x0 > mx and n0 < mn):
                        broke[f] = True
                        break
                    if not known0:
                        v0 = _strided_var(x, base0, down, len0, buf, work)
                    var = _strided_var(x, base, down, n, buf, work)
                    if not v0 > var:
                        broke[f] = True
                        break
                    cnt[f] += 1
                    v0, known0 = var, True
                else:
                    known0 = False
                base0, len0, n0, x0 = base, n, mn, mx
        return cnt, broke

    return runs


@functools.lru_cache(maxsize=16)
def _ml_terms(decay: tuple[float, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(a^−k for k < n, Σ_k log(a^k)) per candidate decay factor a."""
    a = np.asarray(decay)
    k = np.arange(n)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return (a[:, None] ** (-1.0 * k[None, :])), np.sum(np.log(a[:, None] ** k), axis=1)


def _ml_rt(h: np.ndarray, a: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """Maximum-likelihood RT60 (one of ``tq``) of each row of ``h``: an exponentially
    decaying envelope with factor ``a`` per sample under Laplacian-like noise."""
    h = np.atleast_2d(h)
    n = h.shape[1]
    powers, log_sum = _ml_terms(tuple(a.tolist()), n)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        sum1 = np.abs(h) @ powers.T  # (rows, candidates)
        sigma = sum1 / n
        ll = -n * np.log(2) - n * np.log(sigma) - log_sum - sum1 / sigma
    return tq[np.argmax(ll, axis=1)]


MODELS = {
    "hardness": hardness,
    "depth": depth,
    "brightness": brightness,
    "roughness": roughness,
    "warmth": warmth,
    "sharpness": sharpness,
    "boominess": boominess,
    "reverb": reverb,
}


def _kernels() -> list[Any]:
    """Every compiled kernel of the extractor (their factories compile or load them)."""
    scan, rough = _peak_kernels()
    return [
        _envelope_kernel(),
        _median_kernel(),
        _soft_mask_kernel(),
        scan,
        rough,
        _loudness_kernel(),
        _iir_kernel(),
        _cascade_kernel(),
        _decay_runs(),
        _biquad_chain_kernel(),
        _window_kernel(),
        _power_sums_kernel(),
        _band_edges_kernel(),
        _mel_power_kernel(),
    ]


def _warm_filters() -> None:
    """Compile the envelope, median, filter and single-precision spectral-sum kernels for
    the argument types of real use (tiny inputs)."""
    x = np.linspace(-1.0, 1.0, 64)
    envelope(x, 44_100)
    median_filter_axis(np.abs(np.outer(x, x)), 31, 1)
    _soft_mask_kernel()(np.abs(np.outer(x, x)), np.abs(np.outer(x, x)))  # C-ordered both
    b, a = np.array([1.0, 0.0, 0.0]), np.array([1.0, -0.5, 0.1])
    _iir_kernel()(b, a, np.ones((8, 2)), True)
    _butter_cascades(x, 44_100, (20, "high"))
    _decay_runs()(x, np.arange(0, 8, 4), 2, 3, 7)
    _biquad_chain_kernel()(np.ones((2, 6)), x)
    _spectral_sums(np.tile(x, 4), 48_000, 64, 32, np.float32)
    _onset_strength(np.tile(x, 40), 48_000)


def _warm_peaks() -> None:
    """Compile the peak-picking, loudness-walk and double-precision spectral-sum kernels
    for the argument types of real use."""
    _spectral_sums(np.linspace(-1.0, 1.0, 256), 48_000, 64, 32, np.float64)
    specific_loudness(np.full((2, 28), 60.0))
    spec = np.abs(np.sin(np.arange(3 * 40, dtype=np.float64))).reshape(3, 40)
    detect_peaks(spec[0], cthr=0.01)
    _peak_kernels()[1](spec, 0.0, spec.max(), np.linspace(0, 1, 40), 0.01)
    width = np.empty(3)
    _band_edges_kernel()(
        spec.astype(np.float32), np.ones(3, np.float32), np.float32(0.1), spec[0], width
    )


def compile_kernels(workers: int | None = None) -> int:
    """Fill a cold JIT cache with all kernels, compiled side by side in forked processes
    (about half the wall time on two cores); nothing to do when every kernel is cached.
    Returns how many processes compiled."""
    from fmbench.jit import compile_in_parallel, is_cached, prepare_jit

    prepare_jit()
    if all(is_cached(k) for k in _kernels()):
        return 0
    return compile_in_parallel([_warm_filters, _warm_peaks], workers)


def extract(samples: np.ndarray, fs: int) -> dict[str, float]:
    """All eight attributes of one mono clip at ``fs`` (≥ 44.1 kHz) on the 0..100 / 0-1
    scales of timbral-models. Raises :class:`TimbralError` when undefined."""
    import warnings

    from fmbench.fpenv import flush_subnormals

    # the filters' states decay through the subnormal range in a clip's quiet tail, which
    # made them several times slower on Intel processors (values below 1e-308 only)
    with warnings.catch_warnings(), np.errstate(all="ignore"), flush_subnormals():
        warnings.simplefilter("ignore")  # numpy chatter on short or odd clips
        a = Analysis(np.asarray(samples, dtype=np.float64), int(fs))
        return {k: float(MODELS[k](a)) for k in KEYS}
