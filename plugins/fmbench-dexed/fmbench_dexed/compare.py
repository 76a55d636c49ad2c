"""Renderer-vs-renderer comparison: RMS-envelope cosine and log-mel spectral distance.

Used by ``benchmarks/perf/compare_renderers.py`` to compare the ``dx7`` engine (each
fidelity mode) with ``dexed`` on the shared DX7 banks, and by this plugin's tests.

Definitions:

- **RMS-envelope cosine** — the project's ``rms`` metric (``fmbench_plugins.rms.envelope``,
  docs/metrics.md#rms): both clips resampled to 44.1 kHz, frame 2048 / hop 512 centred RMS,
  envelopes aligned at t = 0 and cut to the shorter one, cosine. Scale-invariant, so the
  engines' different output gains do not matter. 1 = same loudness contour.
- **Log-mel distance (dB)** — at the renders' own sample rate (48 kHz). Each signal is
  first *level-normalised* to unit RMS over the whole render (the engines mix at
  different gains: Dexed does not divide by 4 × carriers); then a 128-band
  mel power spectrogram (n_fft 2048, hop 512, Hann, centred, librosa's Slaney mel bank,
  0..sr/2), ``10·log10`` of it, a common floor 80 dB below the louder of the two
  spectrograms' maxima, and the mean absolute difference over all frames and bands.
  0 = identical spectra; lower is closer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings

FRAME = 2048  # n_fft of the mel spectrogram
HOP = 512
N_MELS = 128
FLOOR_DB = 80.0


def rms_envelope_cosine(a: Audio, b: Audio) -> float:
    """The project's RMS-envelope cosine (``fmbench_plugins.rms.envelope``) between two clips."""
    from fmbench_plugins.rms.envelope import RmsCosine, envelope_cosine

    metric = RmsCosine()
    return envelope_cosine(metric.envelope(a), metric.envelope(b))


def log_mel_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """128-band mel power spectrogram in dB (``10·log10``, floored at 1e-10), (mels, frames)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(x, dtype=np.float32),
        sr=sample_rate,
        n_fft=FRAME,
        hop_length=HOP,
        n_mels=N_MELS,
        power=2.0,
    )
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def _unit_rms(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    r = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    return x / r if r > 0 else x


def log_mel_distance(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """Mean absolute log-mel difference in dB after level normalisation (module docstring)."""
    n = min(len(a), len(b))
    sa = log_mel_db(_unit_rms(a[:n]), sample_rate)
    sb = log_mel_db(_unit_rms(b[:n]), sample_rate)
    floor = max(float(sa.max()), float(sb.max())) - FLOOR_DB
    return float(np.mean(np.abs(np.maximum(sa, floor) - np.maximum(sb, floor))))


@dataclass
class Comparison:
    """Per-voice scores of each candidate renderer against the reference renderer."""

    labels: list[str]  # one label per voice, e.g. "rom1a:01 BRASS 1"
    cosine: dict[str, list[float]] = field(default_factory=dict)
    logmel: dict[str, list[float]] = field(default_factory=dict)
    silent: dict[str, list[bool]] = field(default_factory=dict)  # per renderer incl. reference
    seconds: dict[str, list[float]] = field(default_factory=dict)  # render wall time per voice

    def summary(self, metric: str, name: str, subset: Sequence[int] | None = None) -> dict:
        """n, median, quartiles, min and max of one metric for one candidate renderer."""
        values = np.asarray(getattr(self, metric)[name], dtype=np.float64)
        if subset is not None:
            values = values[np.asarray(subset, dtype=int)]
        return distribution(values)


def distribution(values: Iterable[float]) -> dict[str, float]:
    """n, median, q1, q3, min and max of finite values (NaN where there are none)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if not len(v):
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan, "min": np.nan, "max": np.nan}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {
        "n": int(len(v)),
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def _is_silent(audio: Audio) -> bool:
    return audio.peak < 1.0 / 32768.0


def compare(
    patches: Sequence[Patch],
    candidates: Mapping[str, Any],
    reference: Any,
    settings: RenderSettings | None = None,
    *,
    labels: Sequence[str] | None = None,
    reference_name: str = "dexed",
    progress: Any = None,
) -> Comparison:
    """Render every patch with ``reference`` and each candidate; score candidate vs reference.

    ``candidates`` maps a label (e.g. ``"dx7/reference"``) to a renderer. ``progress`` is
    an optional callable ``progress(i, n)`` called after each patch.
    """
    settings = settings or RenderSettings()
    out = Comparison(
        labels=list(labels) if labels is not None else [str(i) for i in range(len(patches))]
    )
    names = [reference_name, *candidates]
    for name in names:
        out.silent[name] = []
        out.seconds[name] = []
    for name in candidates:
        out.cosine[name] = []
        out.logmel[name] = []
    for i, patch in enumerate(patches):
        t0 = time.perf_counter()
        ref = reference.render(patch, settings)
        out.seconds[reference_name].append(time.perf_counter() - t0)
        out.silent[reference_name].append(_is_silent(ref))
        for name, renderer in candidates.items():
            t0 = time.perf_counter()
            cand = renderer.render(patch, settings)
            out.seconds[name].append(time.perf_counter() - t0)
            out.silent[name].append(_is_silent(cand))
            out.cosine[name].append(rms_envelope_cosine(cand, ref))
            out.logmel[name].append(
                log_mel_distance(cand.samples, ref.samples, settings.sample_rate)
            )
        if progress is not None:
            progress(i + 1, len(patches))
    return out
