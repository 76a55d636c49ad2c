"""The render stage: patches → audio, through the content-addressed render cache.

Generated and (when a metric needs it) reference patches are rendered once per distinct
content; a render is reused from the cache when patch, renderer identity and settings
are identical (:func:`fmbench.render.render_key`). A render that raises or produces
non-finite samples is a recorded failure of that item. Under ``score-as-failure`` every
item without generated audio is given silence, so audio metrics still see every item.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from fmbench.audio import Audio, audio_problem
from fmbench.cache import Cache
from fmbench.contracts import Sample
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings, pack_render, render_key, unpack_render

#: the note a sample gets when its failed output is scored as silence
SILENCE_NOTE = "scored as silence (no valid patch)"


def render_samples(
    samples: list[Sample],
    renderer: Any,
    settings: RenderSettings,
    cache: Cache,
    executor: Any,
    *,
    with_reference: bool,
    silence_for_failures: bool,
    log: Callable[[str], None] = lambda message: None,
    progress: Callable[[int], Any] | None = None,
) -> None:
    """Fill ``sample.audio`` (and ``reference_audio`` when ``with_reference``).

    ``progress(total)`` returns a progress bar (a context manager with ``update(n)``)
    for the renders that are not cached."""
    jobs: dict[str, Patch] = {}
    for s in samples:
        if s.patch is not None:
            jobs.setdefault(s.patch.content_hash, s.patch)
    if with_reference:
        for s in samples:
            if s.reference_patch is not None:
                jobs.setdefault(s.reference_patch.content_hash, s.reference_patch)
    audio, failures = _render_patches(
        list(jobs.values()), renderer, settings, cache, executor, log=log, progress=progress
    )
    silence = Audio(np.zeros(settings.num_samples, dtype=np.float32), settings.sample_rate)
    for s in samples:
        if s.patch is not None:
            s.audio = audio.get(s.patch.content_hash)
            if s.audio is None:
                s.notes["render"] = failures.get(s.patch.content_hash, "render failed")
        if s.audio is None and silence_for_failures:
            s.audio = silence
            s.notes.setdefault("render", SILENCE_NOTE)
        if s.reference_patch is not None and s.reference_patch.content_hash in audio:
            s.reference_audio = audio[s.reference_patch.content_hash]


def _render_patches(
    patches: list[Patch],
    renderer: Any,
    settings: RenderSettings,
    cache: Cache,
    executor: Any,
    *,
    log: Callable[[str], None],
    progress: Callable[[int], Any] | None,
) -> tuple[dict[str, Audio], dict[str, str]]:
    """Audio by patch content hash, and the reason for every patch that failed."""
    from fmbench.render import render_batch

    out: dict[str, Audio] = {}
    failures: dict[str, str] = {}
    missing: list[Patch] = []
    for p in patches:
        stored = cache.get("render", render_key(p, renderer.identity, settings))
        if stored is None:
            missing.append(p)
        else:
            out[p.content_hash] = unpack_render(stored, settings)
    if not missing:
        return out, failures
    log(f"rendering {len(missing)} patches ({len(out)} cached)")
    bar = progress(len(missing)) if progress is not None else contextlib.nullcontext()
    with bar:
        try:
            results: list[Audio | str] = list(
                render_batch(missing, settings, renderer=renderer, executor=executor)
            )
        except Exception:  # noqa: BLE001 - find the failing patches one by one
            results = [_render_or_reason(renderer, settings, p) for p in missing]
        for p, audio in zip(missing, results, strict=True):
            problem = audio if isinstance(audio, str) else audio_problem(audio)
            if isinstance(audio, str) or problem is not None:
                failures[p.content_hash] = f"render failed: {problem}"
            else:
                stored = pack_render(audio, settings)
                cache.put("render", render_key(p, renderer.identity, settings), stored)
                # the stored form, so a resumed run sees exactly the same audio
                out[p.content_hash] = unpack_render(stored, settings)
            if bar is not None and hasattr(bar, "update"):
                bar.update(1)
    return out, failures


def _render_or_reason(renderer: Any, settings: RenderSettings, patch: Patch) -> Audio | str:
    try:
        return renderer.render(patch, settings)
    except Exception as exc:  # noqa: BLE001 - a renderer failure is one item's failure
        return f"{type(exc).__name__}: {exc}"
