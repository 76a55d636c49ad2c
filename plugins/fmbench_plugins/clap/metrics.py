"""The CLAP metrics (``clap``, ``clap_text_synth_prefix``, ``clap_audio``) and the ``clap``
embedder, on top of :class:`fmbench_plugins.clap.engine.ClapEngine`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench_plugins.clap.engine import ClapEngine, cosine
from fmbench_plugins.clap.preprocess import PREPROCESS_VERSION

VERSION = "0.1.0"
SYNTH_PREFIX = "Synthesized "


def _engine_options(options: dict[str, Any]) -> dict[str, Any]:
    keys = ("model", "tokenizer", "device", "batch_size", "max_text_tokens", "cache")
    unknown = sorted(set(options) - set(keys))
    if unknown:
        raise FmbenchError(f"unknown CLAP option(s) {', '.join(unknown)}; known: {', '.join(keys)}")
    return options


class _ClapMetric:
    name = "clap"

    def __init__(self, **options: Any) -> None:
        self.engine = ClapEngine(**_engine_options(options))
        self.identity = f"{self.name}@{VERSION}[{self.engine.identity}]"

    def _details(self, result: MetricResult, longer: int) -> None:
        result.details.update(
            model=str(self.engine.source.path),
            model_identity=self.engine.identity,
            backend=self.engine.source.kind,
            n_longer_than_10s_cut_to_first_10s=longer,
        )


class ClapTextAudio(_ClapMetric):
    """Per-item cosine between the CLAP embeddings of the caption (optionally prefixed)
    and of the generated audio (docs/metrics.md#clap). NaN with a reason for silent/missing audio or
    a missing caption; those items are counted in ``details``."""

    def __init__(self, prefix: str = "", column: str = "clap", **options: Any) -> None:
        self.prefix = prefix
        self.column = column
        self.name = column
        super().__init__(**options)
        self.identity += f"(prefix={prefix!r})"

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score every sample; one model load at most (only on cache misses)."""
        result = MetricResult()
        values = np.full(len(samples), math.nan)
        with self.engine.session():
            audio, reasons, longer = self.engine.audio_embeddings([s.audio for s in samples])
            idx = [i for i, s in enumerate(samples) if audio[i] is not None and s.caption]
            for i, s in enumerate(samples):
                if i not in reasons and not s.caption:
                    reasons[i] = "no caption"
            texts = self.engine.text_embeddings([self.prefix + samples[i].caption for i in idx])
        for i, t in zip(idx, texts, strict=True):
            values[i] = cosine(audio[i], t)
        for i, why in reasons.items():
            result.reasons[(self.column, i)] = why
        result.per_sample[self.column] = values
        self._details(result, longer)
        result.details["n_nan"] = int(np.isnan(values).sum())
        result.details["n_silent"] = sum(1 for w in reasons.values() if w == "silent audio")
        return result


class ClapAudioAudio(_ClapMetric):
    """Per-item cosine between the CLAP audio embeddings of the generated and the
    reference audio (a true audio–audio similarity; the original work never computed one)."""

    name = "clap_audio"

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score every pair; NaN with a reason where either side cannot be embedded."""
        result = MetricResult()
        values = np.full(len(samples), math.nan)
        with self.engine.session():
            gen, gen_why, longer = self.engine.audio_embeddings([s.audio for s in samples])
            ref, ref_why, longer_ref = self.engine.audio_embeddings(
                [s.reference_audio for s in samples]
            )
        for i in range(len(samples)):
            if gen[i] is not None and ref[i] is not None:
                values[i] = cosine(gen[i], ref[i])
            else:
                why = "; ".join(
                    f"{side}: {w}"
                    for side, w in (("generated", gen_why.get(i)), ("reference", ref_why.get(i)))
                    if w
                )
                result.reasons[(self.name, i)] = why
        result.per_sample[self.name] = values
        self._details(result, longer + longer_ref)
        result.details["n_nan"] = int(np.isnan(values).sum())
        return result


class ClapEmbedder:
    """CLAP audio embeddings for FAD / KAD / KL: one L2-normalised row per clip
    (``(1, dim)``), preprocessed as for the ``clap`` metric. Silent audio raises ``FmbenchError``
    ("silent audio"), which the distribution metrics record as a counted failure.

    The model is loaded on the first cache miss and kept until :meth:`close` (or until
    the embedder is garbage-collected), so embedding clip by clip does not reload it.
    """

    sample_rate = 48_000

    def __init__(self, **options: Any) -> None:
        self.engine = ClapEngine(**_engine_options(options))
        self.identity = f"clap-embedder@{VERSION}[{self.engine.identity}]"
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """The embedding size (the model's projection dimension)."""
        if self._dim is None:
            from transformers import ClapConfig

            if self.engine.source.kind == "hf":
                cfg = ClapConfig.from_pretrained(str(self.engine.source.path))
                self._dim = int(cfg.projection_dim)
            else:
                self._dim = int(self.engine._model().model.config.projection_dim)
        return self._dim

    def embed(self, audio: Audio) -> np.ndarray:
        """``(1, dim)`` float32 for one clip (cached by content hash + model identity)."""
        return self.embed_batch([audio])[0]

    def embed_batch(self, clips: Sequence[Audio]) -> list[np.ndarray]:
        """Embed several clips in batches of ``batch_size``."""
        out, reasons, _ = self.engine.audio_embeddings(list(clips))
        if reasons:
            i, why = next(iter(reasons.items()))
            raise FmbenchError(f"clip {i}: {why}")
        self._dim = int(out[0].shape[-1]) if out else self._dim
        return [np.asarray(e, dtype=np.float32)[None, :] for e in out]  # type: ignore[index]

    def close(self) -> None:
        """Release the model."""
        self.engine.close()

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine._loaded = None  # drop the model; no gc.collect() inside a finaliser


__all__ = ["ClapAudioAudio", "ClapEmbedder", "ClapTextAudio", "PREPROCESS_VERSION", "SYNTH_PREFIX"]
