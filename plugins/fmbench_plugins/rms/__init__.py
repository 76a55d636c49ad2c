"""Built-in signal-level metrics (no model weights): RMS-envelope cosine
(docs/metrics.md#rms)."""

from __future__ import annotations

from fmbench import hookimpl


@hookimpl
def fmbench_register_metrics(register):
    """Register ``rms``."""
    register(
        "rms",
        "fmbench_plugins.rms.envelope:RmsCosine",
        summary="RMS-envelope cosine, generated vs reference audio (44.1 kHz, 2048/512)",
        direction="higher",
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        outputs=[("rms", "higher", "RMS-envelope cosine in [0, 1]", 0.0)],
        aliases=("rms_cosine",),
        worst=0.0,  # the cosine of two non-negative envelopes lies in [0, 1]
        version="0.1.0",
    )
