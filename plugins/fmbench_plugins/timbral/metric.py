"""The AC (timbral) metrics (docs/metrics.md#timbral) over two interchangeable extractors.

Per pair (a = generated, b = reference), from the eight attributes in the order
hardness, depth, brightness, roughness, warmth, sharpness, boominess, reverb: the seven
continuous ones are divided by 100, reverb (0/1) is kept, NaN becomes 0, ``d = a − b``;
``l1 = mean(|d|)`` (the results table's "AC"), ``mse = mean(d²)``,
``cosine = a·b / (‖a‖‖b‖ + 1e-12)``.

As in the original work, a clip whose features cannot be extracted (silent, too short, NaN
samples) counts as a zero vector — it is not dropped — and the reason is recorded in
``MetricResult.reasons``. A sample with no audio object at all gets NaN with a reason.
Audio below 44.1 kHz is resampled to 44.1 kHz once, by :meth:`Audio.resample` (soxr
"HQ", the resampler librosa ≥ 0.10 uses by default, which is what timbral-models itself
would call); other rates are analysed natively. The two clips of a pair may differ in
rate and length: each side is analysed on its own.

Features are cached per clip by audio content hash + extractor identity in
:class:`fmbench.cache.Cache` (namespace ``timbral``) and in memory, so a benchmark's
reference clips are analysed once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.contracts import MetricResult, Sample
from fmbench_plugins.timbral import FAST_VERSION

KEYS = (
    "hardness",
    "depth",
    "brightness",
    "roughness",
    "warmth",
    "sharpness",
    "boominess",
    "reverb",
)
EPS = 1e-12
MIN_RATE = 44_100  # the models' filter banks need at least this rate
VERSION = "0.1.0"  # the metric: normalisation and distances (the extractors have their own)
MODELS_INSTALL = "pip install 'fmbench[timbral]' && pip install --no-deps timbral-models==0.4.0"


def normalise(raw: np.ndarray) -> np.ndarray:
    """Raw attributes (0..100, reverb 0/1) → the vector the distances use (NaN → 0)."""
    v = np.asarray(raw, dtype=np.float64).copy()
    v[:7] /= 100.0
    return np.nan_to_num(v, nan=0.0)


def distances(raw_a: np.ndarray, raw_b: np.ndarray) -> tuple[float, float, float]:
    """(timbral_l1, timbral_mse, timbral_cosine) of two raw attribute vectors."""
    a, b = normalise(raw_a), normalise(raw_b)
    d = a - b
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + EPS))
    return float(np.mean(np.abs(d))), float(np.mean(d * d)), cos


def _fast_extract(x: np.ndarray, fs: int) -> dict[str, float]:
    from fmbench_plugins.timbral import audiocommons as fast

    return fast.extract(x, fs)


def _models_extract(x: np.ndarray, fs: int) -> dict[str, float]:
    from fmbench_plugins.timbral.compat import patched

    with patched() as tm:
        out = tm.timbral_extractor(x, fs=fs, clip_output=True, verbose=False)
    return {k: float(out[k]) if k in out and out[k] is not None else math.nan for k in KEYS}


def warmup_clip(seconds: float = 1.0, rate: int = MIN_RATE) -> Audio:
    """A short deterministic clip with three struck, decaying partial-rich notes: enough
    onsets and spectrum for every attribute model's code path to run."""
    t = np.arange(int(seconds * rate)) / rate
    x = np.zeros_like(t)
    for k, start in enumerate((0.05, 0.4, 0.7)):
        tt = np.clip(t - start, 0.0, None)
        env = np.where(t >= start, np.exp(-tt * 12.0), 0.0)
        f0 = 220.0 * (k + 1)
        x += env * sum(np.sin(2 * np.pi * f0 * h * tt) / h for h in range(1, 6))
    return Audio((0.3 * x / np.max(np.abs(x))).astype(np.float32), rate)


EXTRACTORS: dict[str, tuple[str, Callable[[np.ndarray, int], dict[str, float]]]] = {
    # name → (identity, function(samples float64, rate) → {key: value})
    "fast": (f"timbral-fast@{FAST_VERSION}", _fast_extract),
    "models": ("timbral-models@0.4.0+fmbench-shim1", _models_extract),
}


class TimbralMetric:
    """AC per pair with one extractor (``"fast"`` = ours, ``"models"`` = timbral-models).

    ``prefix`` names the columns (``<prefix>_l1`` / ``_mse`` / ``_cosine``); ``cache`` is
    a :class:`fmbench.cache.Cache`, True for the default one, or None/False for none.
    """

    def __init__(
        self, extractor: str = "fast", *, prefix: str = "timbral", cache: Any = True
    ) -> None:
        if extractor not in EXTRACTORS:
            raise ValueError(
                f"unknown timbral extractor {extractor!r}: use one of {list(EXTRACTORS)}"
            )
        self.extractor = extractor
        self.extractor_identity, self._extract = EXTRACTORS[extractor]
        self.prefix = prefix
        self.identity = f"{prefix}@{VERSION}({self.extractor_identity},min_rate={MIN_RATE})"
        if cache is True:
            from fmbench.cache import Cache

            cache = Cache()
        self.cache = cache or None
        self._memo: dict[str, np.ndarray] = {}

    def prepare(self) -> None:
        """Compile or load the extractor's JIT code (timbral-fast's numba kernels; for
        timbral-models, librosa's) in this process, by analysing one short synthetic
        clip; the runner calls this before worker processes fork (see :mod:`fmbench.jit`).
        Nothing is cached; a warm-up that cannot be analysed is ignored (scoring records
        its own reasons)."""
        from fmbench.jit import prepare_jit

        prepare_jit()
        if self.extractor == "fast":
            from fmbench_plugins.timbral.audiocommons import compile_kernels

            compile_kernels()  # a cold JIT cache is filled by all cores
        self._compute(warmup_clip())

    @property
    def columns(self) -> tuple[str, str, str]:
        """The per-sample output columns: l1, mse, cosine."""
        return (f"{self.prefix}_l1", f"{self.prefix}_mse", f"{self.prefix}_cosine")

    def features(self, audio: Audio) -> tuple[np.ndarray, str | None]:
        """The 8 raw attributes of one clip (NaN where undefined) and why, if they are."""
        from fmbench.cache import make_key

        key = make_key(audio.content_hash, self.extractor_identity, {"min_rate": MIN_RATE})
        if key in self._memo:
            return self._memo[key], None
        if self.cache is not None:
            hit = self.cache.get("timbral", key)
            if hit is not None and hit.shape == (len(KEYS),):
                self._memo[key] = hit
                return hit, None
        values, reason = self._compute(audio)
        if reason is None:
            self._memo[key] = values
            if self.cache is not None:
                self.cache.put("timbral", key, values)
        return values, reason

    def _compute(self, audio: Audio) -> tuple[np.ndarray, str | None]:
        nan = np.full(len(KEYS), math.nan)
        if len(audio) == 0:
            return nan, "audio is empty"
        if not np.isfinite(audio.samples).all():
            return nan, "audio contains NaN or infinite samples"
        if audio.peak == 0.0:
            return nan, "audio is silent (timbral attributes are undefined)"
        if audio.sample_rate < MIN_RATE:
            audio = audio.resample(MIN_RATE, quality="HQ")
        try:
            out = self._extract(audio.samples.astype(np.float64), audio.sample_rate)
        except Exception as exc:  # noqa: BLE001 - the original scores any extractor failure as 0
            return nan, f"{self.extractor_identity} failed: {type(exc).__name__}: {exc}"[:300]
        values = np.array([out.get(k, math.nan) for k in KEYS], dtype=np.float64)
        missing = [k for k, v in zip(KEYS, values, strict=True) if not np.isfinite(v)]
        if missing:
            return values, f"undefined attributes: {', '.join(missing)}"
        return values, None

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Per-sample l1 / mse / cosine; raw attributes of both sides in ``details``."""
        n = len(samples)
        l1, mse, cos = (np.full(n, math.nan) for _ in range(3))
        c_l1, c_mse, c_cos = self.columns
        result = MetricResult(per_sample={c_l1: l1, c_mse: mse, c_cos: cos})
        raw_a = np.full((n, len(KEYS)), math.nan)
        raw_b = np.full((n, len(KEYS)), math.nan)
        n_zero = 0
        for i, s in enumerate(samples):
            if s.audio is None or s.reference_audio is None:
                why = "no generated audio" if s.audio is None else "no reference audio"
                for c in self.columns:
                    result.reasons[(c, i)] = why
                continue
            raw_b[i], why_b = self.features(s.reference_audio)
            raw_a[i], why_a = self.features(s.audio)
            l1[i], mse[i], cos[i] = distances(raw_a[i], raw_b[i])
            notes = [
                f"{side}: {why}"
                for side, why in (("generated", why_a), ("reference", why_b))
                if why
            ]
            if notes:
                n_zero += 1
                text = "; ".join(notes) + " (NaN attributes count as 0: docs/metrics.md#timbral)"
                for c in self.columns:
                    result.reasons[(c, i)] = text
        result.details.update(
            keys=list(KEYS),
            raw_a={k: raw_a[:, j].tolist() for j, k in enumerate(KEYS)},
            raw_b={k: raw_b[:, j].tolist() for j, k in enumerate(KEYS)},
            extractor=self.extractor_identity,
            n=n,
            n_with_undefined_attributes=n_zero,
        )
        return result
