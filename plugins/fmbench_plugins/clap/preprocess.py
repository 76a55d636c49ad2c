"""CLAP audio preprocessing as the original ``clap_score.py`` did it, deterministic.

The steps, in short: docs/metrics.md#clap.

1. resample to 48 kHz (:meth:`fmbench.audio.Audio.resample`, soxr; the original used librosa's
   default resampler, so resampled inputs differ slightly from the original's — 48 kHz renders,
   the usual case, are not resampled at all);
2. peak-normalise to −1 dBFS: ``x · 10^(−1/20) / max|x|`` (pyloudnorm ``normalize.peak``);
   an all-zero clip cannot be normalised and is reported as :class:`SilentAudio` (the
   metric records NaN with the reason "silent audio", counted, never dropped);
3. clip to [−1, 1];
4. int16 quantisation by truncation toward zero: ``trunc(x · 32767) / 32767``;
5. exactly 10 s (480 000 samples): shorter clips are zero-padded at the end; longer clips
   keep their **first** 10 s (the original let CLAP take a random 10 s crop, which made > 10 s
   inputs nondeterministic; fmbench always takes the first window).

Because the model input is always exactly 480 000 samples, neither CLAP's "repeatpad"
filling nor its random truncation is ever triggered.
"""

from __future__ import annotations

import numpy as np

from fmbench.audio import Audio

SAMPLE_RATE = 48_000
CLIP_SAMPLES = 480_000  # 10 s
PEAK_DBFS = -1.0
PREPROCESS_VERSION = "clap-pre-1"  # part of every audio cache key


class SilentAudio(ValueError):
    """The clip is all zeros: peak normalisation is undefined."""


def peak_normalize(x: np.ndarray, target_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Scale ``x`` so its absolute peak is ``target_dbfs`` (pyloudnorm's formula);
    raises :class:`SilentAudio` when the peak is zero."""
    x = np.asarray(x, dtype=np.float64)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        raise SilentAudio("silent audio")
    return x * (10.0 ** (target_dbfs / 20.0) / peak)


def quantize_int16(x: np.ndarray) -> np.ndarray:
    """``trunc(clip(x, −1, 1) · 32767) / 32767`` as float32 (the original int16 round trip)."""
    y = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    return (np.trunc(y * 32767.0).astype(np.int16).astype(np.float32)) / np.float32(32767.0)


def preprocess(audio: Audio) -> tuple[np.ndarray, bool]:
    """The 480 000-sample float32 model input for ``audio`` and whether the clip was
    longer than 10 s (then cut to its first 10 s). Raises :class:`SilentAudio` for an
    all-zero clip and ``ValueError`` for an empty or non-finite one."""
    if len(audio) == 0:
        raise ValueError("empty audio")
    if not np.isfinite(audio.samples).all():
        raise ValueError("audio contains NaN or infinite samples")
    x = audio.resample(SAMPLE_RATE).samples
    y = quantize_int16(peak_normalize(x))
    longer = len(y) > CLIP_SAMPLES
    out = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    n = min(len(y), CLIP_SAMPLES)
    out[:n] = y[:n]
    return out, longer
