"""The built-in DX7 renderer plugin (our own engine): ``dx7`` = :class:`DX7Renderer`.

Options: ``fidelity`` (``"reference"``: the original work's renderer, int16-exact;
``"hardware"``: DX7/MSFA behaviour where the original simplifies) and ``sine``:

- ``"exact"`` (default, and what a benchmark renders with: its definition names the renderer
  ``dx7`` without options and the run records the identity ``dx7/<ver>/<fidelity>/exact``):
  int16-identical to the original renderer. Where a feedback loop (feedback ≥ 5) is
  chaotic, i.e. until the feedback operator's gain stays low enough for the loop to
  contract (``engine.CONTRACTING_LOOP_GAIN``), the loop and its modulators use the C
  library's ``sin`` in the original operation order, one sample after the other.
- ``"fast"``: a short-latency table sine (``_kernels.sin_turn``) in that stretch too, so no
  libm ``sin`` anywhere: deterministic (same bytes every run and for any worker count; the
  sines are plain IEEE arithmetic, so across platforms only libm's ``pow`` in the envelope
  gains and frequencies — shared by both modes — could differ) but not bit-identical to
  the original on chaotic voices; the sound stays the same (docs/renderer.md#sine-modes).

What the engine computes: docs/renderer.md. ``benchmarks/perf/dx7_sine_modes.py`` measures
how far the two sine modes differ and ``benchmarks/perf/render_speed.py`` how fast they are.
"""

from __future__ import annotations

from fmbench import hookimpl

#: the engine's version: the registered component version and part of the renderer identity
ENGINE_VERSION = "1.1.0"


@hookimpl
def fmbench_register_renderers(register):
    """Register the ``dx7`` renderer (our engine; options ``fidelity``, ``sine``)."""
    register(
        "dx7",
        "fmbench_plugins.dx7.renderer:DX7Renderer",
        summary="fmbench's DX7 engine, reference-compatible (see docs/renderer.md)",
        version=ENGINE_VERSION,
    )
