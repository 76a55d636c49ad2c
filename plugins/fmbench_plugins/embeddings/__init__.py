"""Built-in weight-free embedders (``mfcc``, ``logmel``) and the distribution metrics
(``fad``, ``kad``, ``kl``) that run over any registered embedder (option ``embedder``).
"""

from __future__ import annotations

import math
from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"
#: the largest per-item KL of the softmax variant: Σ p·(log p − log(q + 1e-6)) ≤ ln 10⁶
KL_WORST = math.log(1e6)


def _factory(module: str, class_name: str) -> Any:
    def make(**options: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(f"fmbench_plugins.embeddings.{module}"), class_name)(
            **options
        )

    make.__name__ = f"make_{class_name}"
    make.__doc__ = f"Build :class:`fmbench_plugins.embeddings.{module}.{class_name}`."
    return make


@hookimpl
def fmbench_register_embedders(register):
    """Register ``mfcc`` and ``logmel`` (numpy only; 16 kHz; one row per 0.96 s)."""
    register(
        "mfcc",
        _factory("features", "MfccEmbedder"),
        summary="segment mean/std of 20 MFCCs and their deltas (80-d, 0.96 s rows, 16 kHz)",
        version=VERSION,
    )
    register(
        "logmel",
        _factory("features", "LogMelEmbedder"),
        summary="segment mean/std of 64 log-mel bands 125-7500 Hz (128-d, 0.96 s rows, 16 kHz)",
        version=VERSION,
    )


#: (name, class in .distribution, metric kind, summary) of the distribution metrics
DISTRIBUTION_METRICS = (
    (
        "fad",
        "FrechetAudioDistance",
        "set",
        "Fréchet audio distance, reference set vs generated set (spec §4.8)",
    ),
    (
        "kad",
        "KernelAudioDistance",
        "set",
        "kernel audio distance: 100·unbiased MMD², bandwidth from the reference set (§4.9)",
    ),
    (
        "kl",
        "KlDivergence",
        "paired_audio",
        "KL(reference ‖ generated) of softmaxed mean embeddings, paired by id (§4.7)",
    ),
)


@hookimpl
def fmbench_register_metrics(register):
    """Register ``fad``, ``kad`` and ``kl`` (option ``embedder``, default ``mfcc``)."""
    for name, class_name, kind, summary in DISTRIBUTION_METRICS:
        # kl is per item: its worst is the softmax variant's bound, ln(1/1e-6); fad and
        # kad are set values (one per run) and have none
        worst = KL_WORST if name == "kl" else None
        register(
            name,
            _factory("distribution", class_name),
            summary=summary,
            direction="lower",
            metric_kind=kind,
            needs=("audio", "reference_audio"),
            outputs=[(name, "lower", summary, worst)],
            version=VERSION,
            arg_option="embedder",
        )
