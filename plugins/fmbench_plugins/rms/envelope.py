"""RMS-envelope cosine similarity (docs/metrics.md#rms), in numpy.

Both clips are resampled to 44.1 kHz with :meth:`fmbench.audio.Audio.resample` at soxr
quality ``"HQ"`` — the resampler ``librosa.load`` uses by default since librosa 0.10
(``res_type="soxr_hq"``), so the envelopes equal the original's for the same input samples
(the original loaded the WAV files; we take the rendered samples directly). The envelope is
``librosa.feature.rms`` with its defaults: frames of 2048 samples every 512, centered (1024
zeros padded on each side), ``sqrt(mean(x²))`` per frame → ``1 + n // 512`` frames. The
envelopes are aligned at t = 0 and cut to the shorter one;
``rms_cosine = a·b / (‖a‖‖b‖ + 1e-12)``. A silent clip gives 0 (no division by zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fmbench.audio import Audio, audio_problem
from fmbench.cache import Cache, make_key
from fmbench.contracts import MetricResult, Sample
from fmbench.dsp import frame

SAMPLE_RATE = 44_100
FRAME_LENGTH = 2048
HOP_LENGTH = 512
EPS = 1e-12
VERSION = "0.1.0"


def rms_envelope(
    y: np.ndarray, frame_length: int = FRAME_LENGTH, hop_length: int = HOP_LENGTH
) -> np.ndarray:
    """Frame RMS of ``y`` exactly as ``librosa.feature.rms(y=y)`` frames it (centered,
    zero padding), computed in float64; returns ``1 + len(y) // hop_length`` values."""
    x = np.asarray(y, dtype=np.float64)
    pad = frame_length // 2
    x = np.pad(x, (pad, pad))
    frames = frame(x, frame_length, hop_length)
    power = np.einsum("ij,ij->i", frames, frames) / frame_length
    return np.sqrt(power)


def envelope_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two envelopes aligned at t = 0 and cut to the shorter length."""
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + EPS))


def _check(audio: Audio | None, what: str) -> str | None:
    why = audio_problem(audio)
    return None if why is None else why.replace("audio", what, 1)


class RmsCosine:
    """Per-sample RMS-envelope cosine between generated and reference audio (↑)."""

    identity = f"rms@{VERSION}(sr={SAMPLE_RATE},frame={FRAME_LENGTH},hop={HOP_LENGTH},soxr=HQ)"
    column = "rms"

    def __init__(self, cache: Any = True) -> None:
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)

    def envelope(self, audio: Audio) -> np.ndarray:
        """The 44.1 kHz RMS envelope of one clip (cached by audio content)."""
        return self.cache.get_or_compute(
            "rms",
            make_key(audio.content_hash, self.identity),
            lambda: rms_envelope(audio.resample(SAMPLE_RATE, quality="HQ").samples),
        )

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """One cosine per sample; NaN with a reason when either clip is missing/empty."""
        values = np.full(len(samples), math.nan)
        result = MetricResult(per_sample={self.column: values})
        for i, s in enumerate(samples):
            why = _check(s.audio, "generated audio") or _check(s.reference_audio, "reference audio")
            if why:
                result.reasons[(self.column, i)] = why
                continue
            values[i] = envelope_cosine(self.envelope(s.audio), self.envelope(s.reference_audio))
        result.details["n"] = len(samples)
        result.details["n_nan"] = int(np.isnan(values).sum())
        return result
