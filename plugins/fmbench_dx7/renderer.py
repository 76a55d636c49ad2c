"""The ``dx7`` renderer: fmbench's own DX7 engine behind the :class:`Renderer` protocol."""

from __future__ import annotations

import numpy as np

from fmbench.audio import Audio
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench_dx7.engine import ENGINE_VERSION, FIDELITIES, prepare, render_segment


class DX7Renderer:
    """Renders patches with the DX7 engine (spec §2).

    ``fidelity="reference"`` reproduces the seed renderer (int16 exact on the golden
    values of spec §2.11); ``"hardware"`` follows DX7/MSFA behaviour where the reference
    simplifies (see :mod:`fmbench_dx7.engine`). Several notes/velocities render one
    independent segment per (note, velocity) pair — notes outer, velocities inner — each
    identical to a single-note render, concatenated. Instances are stateless and picklable.
    """

    name = "dx7"

    def __init__(self, fidelity: str = "reference") -> None:
        if fidelity not in FIDELITIES:
            from fmbench.errors import FmbenchError

            raise FmbenchError(
                f"unknown dx7 fidelity {fidelity!r}; choose one of {', '.join(FIDELITIES)}"
            )
        self.fidelity = fidelity

    @property
    def identity(self) -> str:
        """``dx7/<engine version>/<fidelity>``: part of every render cache key."""
        return f"dx7/{ENGINE_VERSION}/{self.fidelity}"

    @property
    def options(self) -> dict[str, str]:
        """Constructor options: ``DX7Renderer(**r.options)`` recreates this renderer."""
        return {"fidelity": self.fidelity}

    def __repr__(self) -> str:
        return f"DX7Renderer(fidelity={self.fidelity!r})"

    def render_float(self, patch: Patch, settings: RenderSettings) -> np.ndarray:
        """The normalised float64 mix before quantisation (all segments concatenated)."""
        parts = []
        voice = None
        for note in settings.notes:
            if voice is None or self.fidelity == "hardware":
                voice = prepare(patch, self.fidelity, note)
            for velocity in settings.velocities:
                parts.append(
                    render_segment(
                        voice,
                        note=note,
                        velocity=velocity,
                        sample_rate=settings.sample_rate,
                        frames_on=settings.hold_frames,
                        frames_off=settings.release_frames,
                        block_size=settings.block_size,
                        fidelity=self.fidelity,
                    )
                )
        x = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if not np.all(np.isfinite(x)):  # pragma: no cover - guarded by construction
            raise FloatingPointError("dx7 engine produced a non-finite sample")
        return x

    def render_int16(self, patch: Patch, settings: RenderSettings) -> np.ndarray:
        """int16 samples by the reference's truncation ``trunc(x·32767)``."""
        return (self.render_float(patch, settings) * 32767).astype(np.int16)

    def render(self, patch: Patch, settings: RenderSettings) -> Audio:
        """Render ``patch``; int16-quantised (then /32768) when ``settings.quantize_int16``."""
        if settings.quantize_int16:
            return Audio.from_int16(self.render_int16(patch, settings), settings.sample_rate)
        return Audio(self.render_float(patch, settings).astype(np.float32), settings.sample_rate)
