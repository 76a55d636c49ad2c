"""Render settings and the renderer contract shared by every renderer plugin."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from fmbench.audio import Audio
from fmbench.patch.model import Patch


@dataclass(frozen=True)
class RenderSettings:
    """How to play a patch. Part of every render's cache key.

    The defaults reproduce the seed (spec §2.2): 48 kHz, MIDI note 60, velocity 100,
    key held 6.4 s (4800 control frames of 64 samples) then released for 3.2 s (2400
    frames) → 460 800 samples. Several notes/velocities render one segment per
    (note, velocity) pair, notes outer and velocities inner, concatenated in that order.
    ``quantize_int16`` applies the reference's int16 truncation (``trunc(x·32767)``).
    """

    sample_rate: int = 48_000
    notes: tuple[int, ...] = (60,)
    velocities: tuple[int, ...] = (100,)
    hold_seconds: float = 6.4
    release_seconds: float = 3.2
    block_size: int = 64
    quantize_int16: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(int(n) for n in self.notes))
        object.__setattr__(self, "velocities", tuple(int(v) for v in self.velocities))
        if not self.notes or not all(0 <= n <= 127 for n in self.notes):
            raise ValueError(f"notes must be MIDI numbers 0..127, got {self.notes}")
        if not self.velocities or not all(0 <= v <= 127 for v in self.velocities):
            raise ValueError(f"velocities must be 0..127, got {self.velocities}")
        if self.sample_rate < 8000 or self.block_size < 1:
            raise ValueError("sample_rate must be >= 8000 and block_size >= 1")
        if (
            self.hold_seconds < 0
            or self.release_seconds < 0
            or self.hold_frames + self.release_frames < 2
        ):
            raise ValueError("hold/release durations must be non-negative and not both zero")

    @property
    def hold_frames(self) -> int:
        """Key-down control frames (4800 at 48 kHz)."""
        return int(round(self.hold_seconds * self.sample_rate / self.block_size))

    @property
    def release_frames(self) -> int:
        """Key-up control frames (2400 at 48 kHz)."""
        return int(round(self.release_seconds * self.sample_rate / self.block_size))

    @property
    def segment_samples(self) -> int:
        """Samples per (note, velocity) segment: block_size × total frames."""
        return self.block_size * (self.hold_frames + self.release_frames)

    @property
    def num_samples(self) -> int:
        return self.segment_samples * len(self.notes) * len(self.velocities)

    @property
    def key(self) -> str:
        """Canonical JSON of the settings (for cache keys and manifests)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


@runtime_checkable
class Renderer(Protocol):
    """What a renderer factory returns."""

    name: str
    identity: str  # engine version + fidelity mode: part of every render cache key

    def render(self, patch: Patch, settings: RenderSettings) -> Audio: ...
