"""The built-in DX7 renderer plugin (our own engine): ``dx7`` = :class:`DX7Renderer`.

Options: ``fidelity`` (``"reference"``: the seed renderer of spec §2, int16-exact;
``"hardware"``: DX7/MSFA behaviour where the seed simplifies) and ``sine``:

- ``"exact"`` (default, and what a benchmark renders with: its definition names the renderer
  ``dx7`` without options and the run records the identity ``dx7/<ver>/<fidelity>/exact``):
  int16-identical to the seed renderer. Where a feedback loop (feedback ≥ 5) is chaotic,
  i.e. until the feedback operator's gain stays low enough for the loop to contract
  (``engine.CONTRACTING_LOOP_GAIN``), the loop and its modulators use the C library's
  ``sin`` in the seed's operation order — a strictly sequential ≈16 ns per sample.
- ``"fast"``: a short-latency table sine (``_kernels.sin_turn``) in that stretch too, so no
  libm ``sin`` anywhere: deterministic (same bytes every run and for any worker count; the
  sines are plain IEEE arithmetic, so across platforms only libm's ``pow`` in the envelope
  gains and frequencies — shared by both modes — could differ) but not bit-identical to
  the seed on chaotic voices.

Measured over the 256 shared voices (``benchmarks/perf/dx7_sine_modes.py``, 9.6 s, int16):
all 65 voices with feedback ≤ 4 and 171 of the 191 with feedback ≥ 5 are bit-identical in
both modes (a low loop gain keeps last-ulp differences from growing). In the other 20 the
waveform decorrelates (max |Δ| median 8949 LSB, 47 % of samples differ) but the sound does
not: RMS-envelope cosine (spec §4.11) median 0.99993, min 0.99978; log-mel distance median
1.07 dB, max 2.69 dB. Goldens of spec §2.11: A and C identical; B (feedback 7) keeps its
first samples and peak 11907, RMS 1125.42 instead of 1125.03.

Speed (``benchmarks/perf/render_speed.py``: CPU time on one core, best of 3 per voice,
median over the 256 voices, dexed-py in the same run; 2-core shared development machine):
``exact`` 6.4 ms (0.77× dexed-py's 8.3 ms; p90 10.8 ms for voices that stay chaotic),
``fast`` 6.2 ms (0.75×, p90 6.5 ms) per 9.6 s render.
"""

from __future__ import annotations

from typing import Any

from fmbench import hookimpl

#: the engine's version: the registered component version and part of the renderer identity
ENGINE_VERSION = "1.1.0"


def _make_renderer(**options: Any) -> Any:
    from fmbench_plugins.dx7.renderer import DX7Renderer

    return DX7Renderer(**options)


@hookimpl
def fmbench_register_renderers(register):
    """Register the ``dx7`` renderer (our engine; options ``fidelity``, ``sine``)."""
    register(
        "dx7",
        _make_renderer,
        summary="fmbench's DX7 engine (reference-compatible with the seed renderer)",
        version=ENGINE_VERSION,
    )
