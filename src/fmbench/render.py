"""Render settings and the renderer contract shared by every renderer plugin."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

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

    def render(self, patch: Patch, settings: RenderSettings) -> Audio:
        """Play ``patch`` as ``settings`` say; deterministic, never NaN/Inf."""
        ...


# -- operator ablation and isolation (renderer-agnostic patch transformations) -------------


def modulator_closure(patch: Patch, op: int) -> frozenset[int]:
    """OP``op`` plus every operator that (transitively) modulates it (operator numbers).

    Self-feedback edges are ignored (an operator is in its own closure anyway). This is
    what the issue calls OPk's "downstream closure": the part of the graph whose sound
    flows *down* into OPk.
    """
    _check_op(op)
    seen = {op}
    stack = [op]
    while stack:
        c = stack.pop()
        for m in range(1, 7):
            if m != c and patch.modmatrix[c - 1][m - 1] and m not in seen:
                seen.add(m)
                stack.append(m)
    return frozenset(seen)


def ablate_patch(patch: Patch, op: int) -> Patch:
    """The patch with OP``op`` silenced: its output level ``ol`` set to 0.

    A DX7 operator is never fully off — at ``ol = 0`` its envelope sits at the floor gain
    (≈ 6.4e-5, spec §2.4), about −84 dB below full level, so it no longer audibly
    modulates or sounds. Everything else (topology, carrier count and hence the mix
    normalisation) is unchanged, so the ablated render is directly comparable.
    """
    _check_op(op)
    ol = list(patch.ol)
    ol[6 - op] = 0  # per-operator arrays are OP6-first (spec §1.2)
    return patch.replace(ol=ol)


def isolate_patch(patch: Patch, op: int) -> Patch:
    """The patch reduced to OP``op`` and its :func:`modulator_closure`, OP``op`` the only
    carrier.

    ``outmatrix`` becomes one-hot on OP``op`` (so the mix is divided by 4·1, spec §2.7:
    the isolated operator plays at the level it would have as a lone carrier); operators
    outside the closure get ``ol = 0`` and lose their modulation edges (they could not
    reach the output anyway). The feedback diagonal is kept only inside the closure.
    """
    keep = modulator_closure(patch, op)
    mm = [
        [1 if (patch.modmatrix[c][m] and c + 1 in keep and m + 1 in keep) else 0 for m in range(6)]
        for c in range(6)
    ]
    out = [1 if k + 1 == op else 0 for k in range(6)]
    ol = [patch.ol[s] if (6 - s) in keep else 0 for s in range(6)]
    return patch.replace(modmatrix=mm, outmatrix=out, ol=ol)


def _check_op(op: int) -> None:
    if not isinstance(op, int) or not 1 <= op <= 6:
        from fmbench.errors import FmbenchError

        raise FmbenchError(f"operator numbers are 1..6, got {op!r}")


def render_ablation(
    patch: Patch, settings: RenderSettings, *, off: int, renderer: str | Renderer = "dx7"
) -> Audio:
    """Render ``patch`` with OP``off`` silenced (see :func:`ablate_patch`)."""
    return resolve_renderer(renderer).render(ablate_patch(patch, off), settings)


def render_isolated(
    patch: Patch, settings: RenderSettings, *, op: int, renderer: str | Renderer = "dx7"
) -> Audio:
    """Render OP``op`` and its modulators only, OP``op`` as the sole carrier
    (see :func:`isolate_patch`)."""
    return resolve_renderer(renderer).render(isolate_patch(patch, op), settings)


# -- batch rendering ---------------------------------------------------------------------


def resolve_renderer(renderer: str | Renderer, **options: Any) -> Renderer:
    """A renderer instance from a registered name (plus constructor options) or as is."""
    if isinstance(renderer, str):
        from fmbench.components import ComponentKind
        from fmbench.plugins import get_registry

        return get_registry().create(ComponentKind.RENDERER, renderer, **options)
    if options:
        raise TypeError("renderer options can only be given with a renderer name")
    return renderer


def _render_one(renderer: Renderer, settings: RenderSettings, patch: Patch) -> Audio:
    return renderer.render(patch, settings)


def _render_compact(renderer: Renderer, settings: RenderSettings, patch: Patch) -> Any:
    """A render as int16 when the settings quantise (half the bytes to ship between
    processes; exact, since such audio lies on the int16 grid), else the Audio itself."""
    audio = renderer.render(patch, settings)
    return audio.to_int16() if settings.quantize_int16 else audio


def _expand(settings: RenderSettings, result: Any) -> Audio:
    return result if isinstance(result, Audio) else Audio.from_int16(result, settings.sample_rate)


def render_batch(
    patches: Iterable[Patch],
    settings: RenderSettings,
    *,
    renderer: str | Renderer = "dx7",
    renderer_options: dict[str, Any] | None = None,
    workers: int = 1,
    chunk_size: int = 4,
    max_in_flight: int | None = None,
    executor: Any = None,
) -> Iterator[Audio]:
    """Render many patches, yielding one :class:`Audio` per patch **in input order**.

    Deterministic: every render is an independent pure function of (patch, settings,
    renderer identity), so the bytes do not depend on ``workers`` or the executor. The
    work goes through an :class:`fmbench.executor.Executor` (default: a
    :class:`~fmbench.executor.LocalExecutor` of ``workers`` processes) in chunks of
    ``chunk_size``; at most ``max_in_flight`` chunks (default ``2·workers``) are pending
    and ``patches`` is consumed lazily, so memory stays bounded for any input length.
    The renderer is given by name (+ ``renderer_options``) or as a picklable instance.
    """
    from functools import partial

    from fmbench.executor import LocalExecutor

    if workers is None or workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    instance = resolve_renderer(renderer, **dict(renderer_options or {}))
    own = executor is None
    ex = executor if executor is not None else LocalExecutor(workers, max_in_flight=max_in_flight)
    if ex.workers > 1 and callable(getattr(instance, "prepare", None)):
        instance.prepare()  # compile JIT code here, before the workers fork (fmbench.jit)
    try:
        if ex.workers <= 1:  # in this process: nothing to ship
            yield from ex.map(
                partial(_render_one, instance, settings), patches, chunksize=chunk_size
            )
        else:
            results = ex.map(
                partial(_render_compact, instance, settings), patches, chunksize=chunk_size
            )
            yield from (_expand(settings, r) for r in results)
    finally:
        if own:
            ex.close()
