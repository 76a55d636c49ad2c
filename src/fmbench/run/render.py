"""The render stage: patches → audio, through the content-addressed render cache.

Generated and (when a metric needs it) reference patches are rendered once per distinct
content, streaming through the executor's bounded window; samples hold
:class:`~fmbench.audio.StoredAudio` handles that read the cache when a metric uses them,
so a run holds no audio per item. A render is reused from the cache when patch, renderer identity and settings
are identical (:func:`fmbench.render.render_key`). A render that raises or produces
non-finite samples is a recorded failure of that item. Under ``score-as-failure`` every
item without generated audio is given silence, so audio metrics still see every item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fmbench.audio import Audio
from fmbench.cache import Cache
from fmbench.contracts import Sample
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings, render_with_cache

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
    audio, failures = render_with_cache(
        list(jobs.values()),
        renderer,
        settings,
        cache,
        executor,
        log=log,
        progress=progress,
        stream=True,
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
