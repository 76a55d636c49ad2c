"""Built-in signal-level metrics (no model weights): RMS-envelope cosine (spec §4.11)."""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl


def _make_rms(**options: Any) -> Any:
    """Build :class:`fmbench_plugins.rms.envelope.RmsCosine`."""
    from fmbench_plugins.rms.envelope import RmsCosine

    return RmsCosine(**options)


@hookimpl
def fmbench_register_metrics(register):
    """Register ``rms``."""
    register(
        "rms",
        _make_rms,
        summary="RMS-envelope cosine, generated vs reference audio (44.1 kHz, 2048/512)",
        direction="higher",
        metric_kind="paired_audio",
        needs=("audio", "reference_audio"),
        outputs=[("rms", "higher", "RMS-envelope cosine in [0, 1]", 0.0)],
        aliases=("rms_cosine",),
        version="0.1.0",
    )
