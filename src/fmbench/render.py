"""Render settings and the renderer contract shared by every renderer plugin."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fmbench.audio import (
    MAX_AUDIO_SECONDS,
    MAX_SAMPLE_RATE,
    Audio,
    AudioFileError,
    StoredAudio,
    audio_problem,
)
from fmbench.patch.model import Patch

if TYPE_CHECKING:
    from fmbench.cache import Cache
    from fmbench.contracts import Renderer

#: the renderer a benchmark uses unless it names another
DEFAULT_RENDERER = "dx7"

#: The lowest render sample rate.
MIN_SAMPLE_RATE = 8000


@dataclass(frozen=True)
class RenderSettings:
    """How to play a patch. Part of every render's cache key.

    The defaults reproduce the original work (docs/renderer.md#timing): 48 kHz, MIDI note
    60, velocity 100, key held 6.4 s (4800 control frames of 64 samples) then released for
    3.2 s (2400 frames) → 460 800 samples. Several notes/velocities render one segment per
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
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE or self.block_size < 1:
            raise ValueError(
                f"sample_rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} and block_size >= 1"
            )
        if not (math.isfinite(self.hold_seconds) and math.isfinite(self.release_seconds)):
            raise ValueError("hold/release durations must be finite numbers of seconds")
        if (
            self.hold_seconds < 0
            or self.release_seconds < 0
            or self.hold_frames + self.release_frames < 2
        ):
            raise ValueError("hold/release durations must be non-negative and not both zero")
        seconds = self.num_samples / self.sample_rate
        if seconds > MAX_AUDIO_SECONDS:
            raise ValueError(
                f"a render would last {seconds:g} s ((hold_seconds + release_seconds) × "
                f"{len(self.notes)} note(s) × {len(self.velocities)} velocity(ies)), more than "
                f"fmbench's limit of {MAX_AUDIO_SECONDS:g} s (see docs/leaderboard.md#limits)"
            )

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
    (≈ 6.4e-5), about −84 dB below full level, so it no longer audibly
    modulates or sounds. Everything else (topology, carrier count and hence the mix
    normalisation) is unchanged, so the ablated render is directly comparable.
    """
    _check_op(op)
    ol = list(patch.ol)
    ol[6 - op] = 0  # per-operator arrays are OP6-first
    return patch.replace(ol=ol)


def isolate_patch(patch: Patch, op: int) -> Patch:
    """The patch reduced to OP``op`` and its :func:`modulator_closure`, OP``op`` the only
    carrier.

    ``outmatrix`` becomes one-hot on OP``op`` (so the mix is divided by 4·1:
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
    patch: Patch, settings: RenderSettings, *, off: int, renderer: str | Renderer = DEFAULT_RENDERER
) -> Audio:
    """Render ``patch`` with OP``off`` silenced (see :func:`ablate_patch`)."""
    return resolve_renderer(renderer).render(ablate_patch(patch, off), settings)


def render_isolated(
    patch: Patch, settings: RenderSettings, *, op: int, renderer: str | Renderer = DEFAULT_RENDERER
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


def render_key(patch: Patch, renderer_identity: str, settings: RenderSettings) -> str:
    """The content key of one render: patch content, renderer identity and settings (the
    render cache's key, and the part of a score key that stands for generated audio)."""
    from fmbench.cache import make_key

    return make_key(patch.content_hash, renderer_identity, settings.key)


def pack_render(audio: Audio, settings: RenderSettings) -> np.ndarray:
    """A render's compact stored form: int16 when the settings quantise (half the bytes;
    exact, since such audio lies on the int16 grid), else its float32 samples."""
    return audio.to_int16() if settings.quantize_int16 else audio.samples


def unpack_render(stored: np.ndarray, settings: RenderSettings) -> Audio:
    """Inverse of :func:`pack_render`."""
    if stored.dtype == np.int16:
        return Audio.from_int16(stored, settings.sample_rate)
    return Audio(stored, settings.sample_rate)


def _render_compact(renderer: Renderer, settings: RenderSettings, patch: Patch) -> np.ndarray:
    return pack_render(renderer.render(patch, settings), settings)


def render_batch(
    patches: Iterable[Patch],
    settings: RenderSettings,
    *,
    renderer: str | Renderer = DEFAULT_RENDERER,
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
            yield from (unpack_render(r, settings) for r in results)
    finally:
        if own:
            ex.close()


# -- cached rendering ---------------------------------------------------------------


#: cache namespace of each streamed render's description (hash, length, CRC, peak)
RENDER_DESCRIPTIONS = "render-description"


@dataclass(frozen=True)
class CachedRender:
    """Loads one render from the render cache: the loader behind the :class:`StoredAudio`
    that :func:`render_with_cache` returns with ``stream=True``."""

    root: str
    key: str

    def __call__(self) -> np.ndarray:
        from fmbench.cache import Cache

        stored = Cache(self.root).get("render", self.key)
        if stored is None:
            raise AudioFileError(
                f"render {self.key[:16]} is no longer in the cache at {self.root} (removed "
                "while a run was using it); run again with --resume to render it anew"
            )
        return stored


def render_with_cache(
    patches: list[Patch],
    renderer: Any,
    settings: RenderSettings,
    cache: Cache,
    executor: Any,
    *,
    log: Callable[[str], None] = lambda message: None,
    progress: Callable[[int], Any] | None = None,
    identity: str | None = None,
    stream: bool = False,
) -> tuple[dict[str, Audio], dict[str, str]]:
    """Audio by patch content hash through the render cache (rendering only the misses,
    on ``executor``), and the reason for every patch whose render failed (raised, or
    produced non-finite samples; such renders are never cached). Audio comes back in its
    stored form, so a later read of the cache gives exactly the same samples.
    ``progress(total)`` returns a progress bar for the misses. ``identity`` looks renders
    up under another renderer identity first (e.g. the one a stored run recorded).

    With ``stream=True`` (and an enabled cache) each audio is a :class:`StoredAudio` that
    reads its samples from the cache when used, and renders flow through the executor's
    bounded window: memory does not grow with the number of patches."""
    stream = stream and cache.enabled
    out: dict[str, Audio] = {}
    failures: dict[str, str] = {}
    missing: list[Patch] = []

    def keep(p: Patch, key: str, stored: np.ndarray) -> None:
        audio = unpack_render(stored, settings)
        if stream:
            audio = StoredAudio.of(audio, CachedRender(str(cache.root), key))
            cache.put(RENDER_DESCRIPTIONS, key, audio.description())
        out[p.content_hash] = audio

    def described(key: str) -> StoredAudio | None:
        """A warm run's handle, from the render's stored description (no render read)."""
        if not (stream and cache.path("render", key).is_file()):
            return None
        description = cache.get(RENDER_DESCRIPTIONS, key)
        if description is None:
            return None
        loader = CachedRender(str(cache.root), key)
        return StoredAudio.described(loader, settings.sample_rate, description)

    for p in patches:
        key = render_key(p, identity or renderer.identity, settings)
        handle = described(key)
        if handle is not None:
            out[p.content_hash] = handle
            continue
        stored = cache.get("render", key)
        if stored is None:
            missing.append(p)
        else:
            keep(p, key, stored)
    if not missing:
        return out, failures
    log(f"rendering {len(missing)} patches ({len(out)} cached)")
    bar = progress(len(missing)) if progress is not None else contextlib.nullcontext()

    def finish(p: Patch, audio: Audio | str) -> None:
        problem = audio if isinstance(audio, str) else audio_problem(audio)
        if isinstance(audio, str) or problem is not None:
            failures[p.content_hash] = f"render failed: {problem}"
        else:
            # the stored form, so a resumed run sees exactly the same audio
            key = render_key(p, renderer.identity, settings)
            stored = pack_render(audio, settings)
            cache.put("render", key, stored)
            keep(p, key, stored)
        if bar is not None and hasattr(bar, "update"):
            bar.update(1)

    with bar:
        done = 0
        try:
            for audio in render_batch(missing, settings, renderer=renderer, executor=executor):
                finish(missing[done], audio)
                done += 1
        except Exception:  # noqa: BLE001 - find the failing patches one by one
            for p in missing[done:]:
                finish(p, _render_or_reason(renderer, settings, p))
    return out, failures


def _render_or_reason(renderer: Any, settings: RenderSettings, patch: Patch) -> Audio | str:
    try:
        return renderer.render(patch, settings)
    except Exception as exc:  # noqa: BLE001 - a renderer failure is one item's failure
        return f"{type(exc).__name__}: {exc}"
