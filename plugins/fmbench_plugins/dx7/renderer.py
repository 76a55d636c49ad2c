"""The ``dx7`` renderer: fmbench's own DX7 engine behind the :class:`Renderer` protocol."""

from __future__ import annotations

import numpy as np

from fmbench.audio import Audio
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench_plugins.dx7.engine import ENGINE_VERSION, FIDELITIES, SINES, prepare, render_segment


class DX7Renderer:
    """Renders patches with the DX7 engine (docs/renderer.md).

    ``fidelity="reference"`` reproduces the original renderer (int16 exact on the golden
    values of docs/renderer.md#golden-values); ``"hardware"`` follows DX7/MSFA behaviour
    where the original simplifies (see :mod:`fmbench_plugins.dx7.engine`). Several
    notes/velocities render one independent segment per (note, velocity) pair — notes
    outer, velocities inner — each identical to a single-note render, concatenated.
    Instances are stateless and picklable.

    ``sine`` trades exactness for speed on chaotic feedback voices and is part of
    :attr:`identity`, so cached renders of the two modes never mix:

    - ``"exact"`` (default; benchmarks render with it, see :mod:`fmbench_plugins.dx7`): while a
      feedback loop (feedback ≥ 5) is chaotic it is evaluated with the C library's ``sin``
      in the original operation order — int16-identical to the original renderer (and to
      the libm oracle on all 256 shared voices), one sample after the other.
    - ``"fast"``: a short-latency table sine there too and no libm ``sin`` at all: the
      same bytes every run and for any worker count. Identical to ``"exact"`` for feedback
      ≤ 4 (the same arithmetic) and on most other voices; where it differs the waveform
      decorrelates but the sound does not (docs/renderer.md#sine-modes).
    """

    name = "dx7"

    def __init__(self, fidelity: str = "reference", sine: str = "exact") -> None:
        from fmbench.errors import FmbenchError

        if fidelity not in FIDELITIES:
            raise FmbenchError(
                f"unknown dx7 fidelity {fidelity!r}; choose one of {', '.join(FIDELITIES)}"
            )
        if sine not in SINES:
            raise FmbenchError(f"unknown dx7 sine mode {sine!r}; choose one of {', '.join(SINES)}")
        self.fidelity = fidelity
        self.sine = sine

    @property
    def identity(self) -> str:
        """``dx7/<engine version>/<fidelity>/<sine>``: part of every render cache key."""
        return f"dx7/{ENGINE_VERSION}/{self.fidelity}/{self.sine}"

    @property
    def options(self) -> dict[str, str]:
        """Constructor options: ``DX7Renderer(**r.options)`` recreates this renderer."""
        return {"fidelity": self.fidelity, "sine": self.sine}

    def __repr__(self) -> str:
        return f"DX7Renderer(fidelity={self.fidelity!r}, sine={self.sine!r})"

    def _render_into(self, patch: Patch, settings: RenderSettings, dtype: type) -> np.ndarray:
        out = np.empty(settings.num_samples, dtype=dtype)
        offset = 0
        voice = None
        for note in settings.notes:
            if voice is None or self.fidelity == "hardware":
                voice = prepare(patch, self.fidelity, note)
            for velocity in settings.velocities:
                render_segment(
                    voice,
                    note=note,
                    velocity=velocity,
                    sample_rate=settings.sample_rate,
                    frames_on=settings.hold_frames,
                    frames_off=settings.release_frames,
                    block_size=settings.block_size,
                    fidelity=self.fidelity,
                    sine=self.sine,
                    out=out,
                    offset=offset,
                )
                offset += settings.segment_samples
        return out

    def prepare(self) -> None:
        """Compile or load the engine's numba kernels in this process.

        The runner (and :func:`fmbench.render.render_batch`) calls this before worker
        processes fork, so workers inherit compiled kernels instead of all compiling and
        writing numba's cache at once (see :mod:`fmbench.jit`). Renders two tiny voices:
        a chaotic feedback loop (the exact libm path) and algorithm 4 (the general kernel
        in hardware fidelity).
        """
        from fmbench.jit import prepare_jit
        from fmbench.testing.patches import patch_dict

        prepare_jit()
        settings = RenderSettings(hold_seconds=0.02, release_seconds=0.02)
        for alg in (1, 4):
            self.render(Patch.from_dict(patch_dict(alg, feedback=7)), settings)

    def render_float(self, patch: Patch, settings: RenderSettings) -> np.ndarray:
        """The normalised float64 mix before quantisation (all segments concatenated)."""
        return self._render_into(patch, settings, np.float64)

    def render_int16(self, patch: Patch, settings: RenderSettings) -> np.ndarray:
        """int16 samples by the reference's truncation ``trunc(x·32767)``."""
        return self._render_into(patch, settings, np.int16)

    def render(self, patch: Patch, settings: RenderSettings) -> Audio:
        """Render ``patch``; int16-quantised (then /32768) when ``settings.quantize_int16``."""
        if settings.quantize_int16:  # == Audio.from_int16(render_int16(…)), in one pass
            return Audio(self._render_into(patch, settings, np.float32), settings.sample_rate)
        return Audio(self.render_float(patch, settings).astype(np.float32), settings.sample_rate)
