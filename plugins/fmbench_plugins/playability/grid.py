"""Playability: generated vs reference patch, rendered over a grid of notes × velocities.

Both patches are rendered with :class:`fmbench.render.RenderSettings` ``notes × velocities``
(one segment per cell, key held ``hold_s`` then released ``release_s``). Per cell:

- band levels: the magnitude spectrum of the whole cell in 1/3-octave bands from 50 Hz to
  16 kHz, in dB relative to the reference's loudest cell, floored at −80 dB; the cell's
  spectral error is the mean |Δ| over bands (level and timbre together);
- envelope: cosine similarity of the 20 ms RMS envelopes (1 when both are silent, 0 when
  exactly one is);
- audible: peak above −60 dBFS (:func:`fmbench.audio.is_inaudible`).

Per item: the grid means, ``play_velocity_error`` (for each note, the level change from the
lowest to the highest velocity, compared between the two patches, |Δ| in dB, mean over
notes) and ``play_spectral_error_n<note>`` for each grid note. Needs both patches: an
output without a valid patch is NaN with a reason (the runner then applies the worst values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fmbench.audio import Audio, is_inaudible
from fmbench.contracts import MetricResult, Sample
from fmbench.errors import FmbenchError
from fmbench_plugins.playability import BREAKDOWN_NOTES, VERSION

_FLOOR_DB = -80.0


def _parse_ints(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise FmbenchError(f"playability: {what} must be integers, got {value!r}") from None
    if not out:
        raise FmbenchError(f"playability: {what} must not be empty")
    return out


def _band_edges(sr: int) -> np.ndarray:
    centres = 1000.0 * 2.0 ** (np.arange(-14, 15) / 3.0)  # 62.5 Hz .. 16 kHz
    centres = centres[(centres >= 50.0) & (centres * 2 ** (1 / 6) < sr / 2)]
    return np.stack([centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)], axis=1)


def band_levels(x: np.ndarray, sr: int) -> np.ndarray:
    """Band powers (linear) of one cell in 1/3-octave bands (see the module docstring)."""
    n = 1 << int(math.ceil(math.log2(max(len(x), 2))))
    spec = np.abs(np.fft.rfft(x.astype(np.float64), n)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    edges = _band_edges(sr)
    cum = np.concatenate([[0.0], np.cumsum(spec)])
    lo = np.searchsorted(freqs, edges[:, 0])
    hi = np.searchsorted(freqs, edges[:, 1])
    return (cum[hi] - cum[lo]) / max(len(x), 1) ** 2


def _envelope(x: np.ndarray, sr: int) -> np.ndarray:
    hop, win = int(0.01 * sr), int(0.02 * sr)
    n = max(0, (len(x) - win) // hop + 1)
    if n == 0:
        return np.zeros(1)
    sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    s = np.arange(n) * hop
    return np.sqrt(np.maximum((sq[s + win] - sq[s]) / win, 0.0))


def _cos(a: np.ndarray, b: np.ndarray, a_silent: bool, b_silent: bool) -> float:
    if a_silent and b_silent:
        return 1.0
    if a_silent or b_silent:
        return 0.0
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def _db(p: np.ndarray | float) -> Any:
    return 10.0 * np.log10(np.maximum(p, 1e-20))


class Playability:
    """The ``playability`` metric (options: ``notes``, ``velocities``, ``hold_s``,
    ``release_s``, ``sample_rate``, ``renderer``)."""

    def __init__(
        self,
        notes: Any = (36, 60, 84),
        velocities: Any = (64, 127),
        hold_s: float | str = 1.0,
        release_s: float | str = 0.5,
        sample_rate: int | str = 48_000,
        renderer: str = "dx7",
        workers: int | str = 1,
    ) -> None:
        from fmbench.render import RenderSettings

        try:
            self.settings = RenderSettings(
                sample_rate=int(sample_rate),
                notes=_parse_ints(notes, "notes"),
                velocities=_parse_ints(velocities, "velocities"),
                hold_seconds=float(hold_s),
                release_seconds=float(release_s),
            )
        except ValueError as exc:
            raise FmbenchError(f"playability: {exc}") from None
        self.renderer_name = renderer
        self.workers = int(workers)
        self._renderer: Any = None
        s = self.settings
        self.identity = (
            f"playability@{VERSION}/{renderer}/notes={','.join(map(str, s.notes))}"
            f"/velocities={','.join(map(str, s.velocities))}/hold={s.hold_seconds:g}"
            f"/release={s.release_seconds:g}/sr={s.sample_rate}"
        )

    def _render(self, patches: list[Any]) -> list[Audio]:
        from fmbench.render import render_batch, resolve_renderer

        if self._renderer is None:
            self._renderer = resolve_renderer(self.renderer_name)
            self.identity += f"/{self._renderer.identity}"
        return list(
            render_batch(patches, self.settings, renderer=self._renderer, workers=self.workers)
        )

    def cells(self, audio: Audio) -> list[np.ndarray]:
        """The (note, velocity) segments of a grid render, notes outer."""
        seg = self.settings.segment_samples
        x = np.asarray(audio.samples, dtype=np.float64)
        return [
            x[k * seg : (k + 1) * seg]
            for k in range(len(self.settings.notes) * len(self.settings.velocities))
        ]

    def compare(self, gen: Audio, ref: Audio) -> dict[str, float]:
        """All output values for one pair of grid renders."""
        sr = self.settings.sample_rate
        notes, vels = self.settings.notes, self.settings.velocities
        g_cells, r_cells = self.cells(gen), self.cells(ref)
        g_bands = [band_levels(c, sr) for c in g_cells]
        r_bands = [band_levels(c, sr) for c in r_cells]
        top = max(float(b.sum()) for b in r_bands)
        top = top if top > 0 else max(max(float(b.sum()) for b in g_bands), 1e-20)
        spec, env, aud = [], [], []
        g_level, r_level = [], []
        for gc, rc, gb, rb in zip(g_cells, r_cells, g_bands, r_bands, strict=True):
            gd = np.maximum(_db(gb / top), _FLOOR_DB)
            rd = np.maximum(_db(rb / top), _FLOOR_DB)
            spec.append(float(np.mean(np.abs(gd - rd))))
            gs = is_inaudible(Audio(gc.astype(np.float32), sr))
            rs = is_inaudible(Audio(rc.astype(np.float32), sr))
            env.append(_cos(_envelope(gc, sr), _envelope(rc, sr), gs, rs))
            aud.append(float(gs == rs))
            g_level.append(max(float(_db(gb.sum() / top)), _FLOOR_DB))
            r_level.append(max(float(_db(rb.sum() / top)), _FLOOR_DB))
        nv = len(vels)
        out = {
            "play_spectral_error": float(np.mean(spec)),
            "play_envelope_cos": float(np.mean(env)),
            "play_audible_agreement": float(np.mean(aud)),
        }
        if nv > 1:
            lo, hi = int(np.argmin(vels)), int(np.argmax(vels))
            out["play_velocity_error"] = float(
                np.mean(
                    [
                        abs(
                            (g_level[k * nv + hi] - g_level[k * nv + lo])
                            - (r_level[k * nv + hi] - r_level[k * nv + lo])
                        )
                        for k in range(len(notes))
                    ]
                )
            )
        else:
            out["play_velocity_error"] = math.nan
        for k, note in enumerate(notes):
            if note in BREAKDOWN_NOTES:
                out[f"play_spectral_error_n{note}"] = float(np.mean(spec[k * nv : (k + 1) * nv]))
        return out

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Render both patches of every sample over the grid and compare cell by cell."""
        columns = ["play_spectral_error", "play_envelope_cos", "play_velocity_error"]
        columns += ["play_audible_agreement"]
        columns += [
            f"play_spectral_error_n{n}" for n in self.settings.notes if n in BREAKDOWN_NOTES
        ]
        n = len(samples)
        result = MetricResult(per_sample={c: np.full(n, math.nan) for c in columns})
        todo: list[int] = []
        for i, s in enumerate(samples):
            why = None
            if s.reference_patch is None:
                why = "no reference patch"
            elif s.patch is None:
                why = "no valid patch" + (f" ({s.parse_error})" if s.parse_error else "")
            if why:
                for c in columns:
                    result.reasons[(c, i)] = why
            else:
                todo.append(i)
        jobs: dict[str, Any] = {}
        for i in todo:
            for p in (samples[i].patch, samples[i].reference_patch):
                jobs.setdefault(p.content_hash, p)
        audio = dict(zip(jobs, self._render(list(jobs.values())), strict=True)) if jobs else {}
        for i in todo:
            s = samples[i]
            values = self.compare(
                audio[s.patch.content_hash], audio[s.reference_patch.content_hash]
            )
            for c, v in values.items():
                result.per_sample[c][i] = v
                if math.isnan(v):
                    result.reasons[(c, i)] = "a single velocity: no velocity response to compare"
        result.details.update(
            n=n, notes=list(self.settings.notes), velocities=list(self.settings.velocities)
        )
        return result
