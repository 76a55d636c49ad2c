"""Built-in weight-free embedders (``mfcc``, ``logmel``) and the distribution metrics
(``fad``, ``kad``, ``kl``) that run over any registered embedder (option ``embedder``).
"""

from __future__ import annotations

import math

from fmbench import hookimpl

VERSION = "0.1.0"
#: the largest per-item KL of the softmax variant: Σ p·(log p − log(q + 1e-6)) ≤ ln 10⁶
KL_WORST = math.log(1e6)


@hookimpl
def fmbench_register_embedders(register):
    """Register ``mfcc`` and ``logmel`` (numpy only; 16 kHz; one row per 0.96 s)."""
    register(
        "mfcc",
        "fmbench_plugins.embeddings.features:MfccEmbedder",
        summary="segment mean/std of 20 MFCCs and their deltas (80-d, 0.96 s rows, 16 kHz)",
        version=VERSION,
    )
    register(
        "logmel",
        "fmbench_plugins.embeddings.features:LogMelEmbedder",
        summary="segment mean/std of 64 log-mel bands 125-7500 Hz (128-d, 0.96 s rows, 16 kHz)",
        version=VERSION,
    )


#: (name, class in .distribution, metric kind, summary) of the distribution metrics
DISTRIBUTION_METRICS = (
    (
        "fad",
        "FrechetAudioDistance",
        "set",
        "Fréchet audio distance, reference set vs generated set",
    ),
    (
        "kad",
        "KernelAudioDistance",
        "set",
        "kernel audio distance: 100·unbiased MMD², bandwidth from the reference set",
    ),
    (
        "kl",
        "KlDivergence",
        "paired_audio",
        "KL(reference ‖ generated) of softmaxed mean embeddings, paired by id",
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
            f"fmbench_plugins.embeddings.distribution:{class_name}",
            summary=summary,
            direction="lower",
            metric_kind=kind,
            needs=("audio", "reference_audio"),
            outputs=[(name, "lower", summary, worst)],
            version=VERSION,
            arg_option="embedder",
        )
