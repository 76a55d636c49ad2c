"""An example third-party fmbench plugin: the ``loudness_delta`` metric."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fmbench import hookimpl
from fmbench.contracts import MetricResult, Sample

__version__ = "0.1.0"

#: level assigned to digital silence so the difference stays finite
FLOOR_DB = -120.0


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS, floored at ``FLOOR_DB``."""
    if samples.size == 0:
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(FLOOR_DB, 20.0 * np.log10(rms)) if rms > 0 else FLOOR_DB


class LoudnessDelta:
    """|RMS dBFS(generated) − RMS dBFS(reference)| per sample (lower is better)."""

    identity = f"loudness_delta/{__version__}"

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        values = np.full(len(samples), np.nan)
        result = MetricResult(per_sample={"loudness_delta": values})
        for i, sample in enumerate(samples):
            if sample.audio is None or sample.reference_audio is None:
                side = "generated" if sample.audio is None else "reference"
                result.reasons[("loudness_delta", i)] = f"no {side} audio"
                continue
            gen = rms_db(sample.audio.samples)
            ref = rms_db(sample.reference_audio.samples)
            values[i] = abs(gen - ref)
        return result


@hookimpl
def fmbench_register_metrics(register):
    """Register ``loudness_delta``."""
    register(
        "loudness_delta",
        LoudnessDelta,
        summary="absolute RMS level difference (dB) between generated and reference audio",
        version=__version__,
        direction="lower",
        worst=120.0,  # dB: the whole dynamic range of 16-bit audio and then some
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
    )
