"""The ``dexed`` renderer: an fmbench patch played by Dexed (dexed-py, the MSFA engine)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench_dexed.convert import patch_to_vced

#: version of this plugin's conversion + mixing; part of the renderer identity
PLUGIN_VERSION = "0.1.0"
LEVELS = ("seed", "raw")


def dexed_version() -> str:
    """The installed dexed-py version."""
    import dexed

    return str(dexed.__version__)


class DexedRenderer:
    """Renders fmbench patches with Dexed, using the same :class:`RenderSettings` as ``dx7``.

    Each (note, velocity) segment holds the key for ``hold_frames × block_size`` samples
    and lasts ``segment_samples`` in total (9.6 s at the defaults: 6.4 s down, 3.2 s
    release); segments are concatenated notes-outer, velocities-inner.

    ``level="seed"`` (default) scales Dexed's output by ``2 / (4 × carriers)``: Dexed gives
    a full-level carrier an amplitude of about 1.0 where fmbench's reference-compatible
    ``dx7`` engine has gain 2.0 divided by ``4 × carriers``, so both engines put a patch at
    the same level and the output stays inside full scale. ``level="raw"`` keeps Dexed's own
    gain (several loud carriers then exceed ±1). With ``settings.quantize_int16`` the output
    is clipped to full scale and truncated like the ``dx7`` engine's ``trunc(x · 32767)``.

    Dexed's feedback scaling is its original one (``normalize_feedback`` off: reduced
    feedback in algorithms 4, 6 and 32, as in the Dexed plugin).
    """

    name = "dexed"

    def __init__(self, level: str = "seed") -> None:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.level = level
        self._synths: dict[int, Any] = {}

    @property
    def identity(self) -> str:
        """Engine version + conversion version + level mode (part of render cache keys)."""
        return f"dexed-py {dexed_version()}; fmbench-dexed {PLUGIN_VERSION}; level={self.level}"

    def __getstate__(self) -> dict[str, Any]:
        return {"level": self.level}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def _synth(self, sample_rate: int) -> Any:
        synth = self._synths.get(sample_rate)
        if synth is None:
            import dexed

            synth = self._synths[sample_rate] = dexed.DexedSynth(sample_rate=float(sample_rate))
        return synth

    def render_raw(self, patch: Patch, settings: RenderSettings) -> np.ndarray:
        """Dexed's float32 output for ``patch`` (before level scaling and quantisation)."""
        import dexed

        voice = dexed.Patch.from_sysex(patch_to_vced(patch))
        synth = self._synth(settings.sample_rate)
        synth.load_patch(voice)
        sr = settings.sample_rate
        n = settings.segment_samples
        hold = settings.hold_frames * settings.block_size / sr
        total = n / sr
        segments = []
        for note in settings.notes:
            for velocity in settings.velocities:
                y = np.asarray(synth.render(note, velocity, hold, total), dtype=np.float32)
                if len(y) < n:
                    y = np.concatenate([y, np.zeros(n - len(y), dtype=np.float32)])
                segments.append(y[:n])
        return np.concatenate(segments)

    def render(self, patch: Patch, settings: RenderSettings) -> Audio:
        """Render ``patch`` with ``settings``; see the class docstring for levels."""
        y = self.render_raw(patch, settings)  # float32, owned: scaled in place
        if self.level == "seed":
            y *= np.float32(2.0 / (4.0 * max(1, len(patch.carriers))))
        if not np.isfinite(np.sum(y, dtype=np.float64)):  # never emit NaN/Inf
            raise FloatingPointError("dexed produced non-finite samples")
        if settings.quantize_int16:
            np.clip(y, -1.0, 1.0, out=y)
            y *= np.float32(32767.0)
            return Audio.from_int16(np.trunc(y, out=y).astype(np.int16), settings.sample_rate)
        return Audio(y, settings.sample_rate)
