"""Built-in playability metric: does the patch behave like the reference across the keyboard?

A patch tuned at middle C can alias, vanish or ignore velocity elsewhere. ``playability``
renders the generated and the reference patch itself at a grid of notes × velocities
(default notes 36, 60, 84 × velocities 64, 127; short 1 s holds) through the benchmark's
renderer, compares each cell, averages over the grid and adds one column per note
(docs/metrics.md, "playability"). No runner support is needed: the metric renders. The
implementation is :mod:`fmbench_plugins.playability.grid`.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

VERSION = "0.1.0"

#: notes that get a per-note column when they are in the grid (C1..C8)
BREAKDOWN_NOTES: tuple[int, ...] = (24, 36, 48, 60, 72, 84, 96, 108)

#: (name, direction, description, worst)
OUTPUTS: tuple[tuple[str, str, str, float], ...] = (
    (
        "play_spectral_error",
        "lower",
        "mean |Δ| of 1/3-octave band levels (dB re the reference's loudest cell), over the grid",
        80.0,
    ),
    ("play_envelope_cos", "higher", "RMS-envelope cosine per cell, mean over the grid", 0.0),
    (
        "play_velocity_error",
        "lower",
        "|Δ| of the level change from the lowest to the highest velocity (dB), mean over notes",
        60.0,
    ),
    (
        "play_audible_agreement",
        "higher",
        "share of grid cells where both sounds are audible or both silent",
        0.0,
    ),
    *(
        (
            f"play_spectral_error_n{n}",
            "lower",
            f"play_spectral_error at MIDI note {n} (mean over velocities)",
            80.0,
        )
        for n in BREAKDOWN_NOTES
    ),
)


def _make(**options: Any) -> Any:
    """Build :class:`fmbench_plugins.playability.grid.Playability`."""
    from fmbench_plugins.playability.grid import Playability

    return Playability(**options)


@hookimpl
def fmbench_register_metrics(register):
    """Register ``playability``."""
    register(
        "playability",
        _make,
        summary="generated vs reference across a notes x velocities grid (renders both itself)",
        direction="lower",
        metric_kind="patch",
        needs=("patch", "reference_patch"),
        outputs=OUTPUTS,
        version=VERSION,
    )
