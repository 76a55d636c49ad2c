"""A run's audio, recreated from what the run directory stores.

A run directory keeps the canonical patch of every valid output (``samples.csv``), not
its audio. :func:`load_run_audio` gets the audio back the way the runner made it: the
run's renderer and render settings (from ``summary.json``), keyed in the
content-addressed render cache exactly as the runner keys renders (patch hash + renderer
identity + settings), rendering only what the cache lacks. Reference audio comes from the
benchmark's reference patches. Files saved by :func:`export_audio` (``fmbench run
--save-audio``) are used as they are.

Every generated clip is checked against the ``audio_hash`` the run recorded, so a
renderer that changed since the run is reported instead of silently played.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmbench.audio import Audio, read_audio, write_audio
from fmbench.cache import Cache
from fmbench.errors import FmbenchError
from fmbench.files import atomic_write_text, slugify
from fmbench.patch.model import Patch
from fmbench.render import RenderSettings
from fmbench.run.rundir import RunDir
from fmbench.run.summary import RunSummary

#: folder of a run directory that :func:`export_audio` writes
AUDIO_DIR = "audio"
#: sub-folder of :data:`AUDIO_DIR` holding the reference renders
REFERENCE_SUBDIR = "reference"
#: the table of exported files (id, file names, notes)
AUDIO_INDEX = "index.csv"
#: the render cache namespace the runner uses
#: the runner's record of generator outputs (read only for direct-audio outputs)
_GENERATIONS = "generations.jsonl"


_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


class ReportError(FmbenchError):
    """A run cannot be reported or its audio cannot be exported."""


def safe_name(item_id: str) -> str:
    """A collision-free file stem for an item id.

    An id that is already file-name safe (letters, digits, ``_``, ``-``, ``.``; not
    starting with ``.`` or ``-``; at most 100 characters) is used as is; any other
    (``a/b``, ``x y``) becomes its :func:`~fmbench.files.slugify` form plus 8 hex digits
    of its sha256, so ``a/b`` and ``a_b`` never share a file.
    """
    if _SAFE.fullmatch(item_id):
        return item_id
    return f"{slugify(item_id)[:80]}-{hashlib.sha256(item_id.encode()).hexdigest()[:8]}"


@dataclass
class ItemAudio:
    """The audio of one item of a run (None where there is none, with the reason)."""

    id: str
    generated: Audio | None = None
    reference: Audio | None = None
    generated_note: str = ""
    reference_note: str = ""
    reference_patch: Patch | None = None


def render_settings(summary: RunSummary) -> RenderSettings:
    """The render settings a run used (from its summary)."""
    try:
        return RenderSettings(**summary.renderer.options)
    except (TypeError, ValueError) as exc:
        raise ReportError(
            f"run {summary.run_id}: unusable renderer settings in summary.json ({exc})"
        ) from None


def _default_cache(run_dir: Path) -> Cache:
    cache = Cache()
    # the runner keeps renders in the run's own .cache/ when the user cache is disabled
    return cache if cache.enabled else Cache(run_dir / ".cache")


def _patch_of(row: dict[str, Any]) -> Patch | None:
    text = row.get("patch")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return Patch.from_dict(json.loads(text))
    except (ValueError, FmbenchError):
        return None


def _direct_audio_paths(run_dir: Path) -> dict[str, str]:
    path = run_dir / _GENERATIONS
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("audio_path"):
            out[str(rec.get("id"))] = str(rec["audio_path"])
    return out


class RunAudio:
    """The audio of one run directory (see the module docstring).

    ``benchmark`` overrides the benchmark the reference patches come from (default: the
    one named in the summary); ``workers`` render cache misses in parallel.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        cache: Cache | None = None,
        benchmark: Any = None,
        workers: int = 1,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.store = RunDir(self.run_dir)
        if not self.store.summary_path.is_file() or not self.store.samples_path.is_file():
            raise ReportError(
                f"{self.run_dir}: not a finished run directory (needs summary.json and "
                f"samples.csv; see docs/report.md)"
            )
        self.summary = self.store.load_summary()
        self.rows = self.store.read_samples()
        self.settings = render_settings(self.summary)
        self.cache = cache if cache is not None else _default_cache(self.run_dir)
        self.workers = max(1, int(workers))
        self._benchmark = benchmark
        self._renderer: Any = None
        self.notes: list[str] = []

    # -- components ----------------------------------------------------------------
    def benchmark_items(self) -> dict[str, Any]:
        """Benchmark items by id (empty, with a note, when the benchmark cannot be loaded)."""
        bench = self._benchmark
        if bench is None:
            from fmbench.benchmark import load_benchmark

            try:
                bench = load_benchmark(self.summary.benchmark.name)
            except (FmbenchError, OSError, ValueError) as exc:
                self.notes.append(
                    f"reference audio unavailable: benchmark {self.summary.benchmark.name!r} "
                    f"cannot be loaded ({exc})"
                )
                return {}
            self._benchmark = bench
        if bench.identity != self.summary.benchmark.identity:
            self.notes.append(
                f"reference patches come from benchmark {bench.identity}, but the run used "
                f"{self.summary.benchmark.identity}"
            )
        return {it.id: it for it in (*bench.test, *bench.train)}

    def renderer(self) -> Any:
        """The run's renderer, created on first use; a differing identity is noted."""
        if self._renderer is None:
            from fmbench.components import ComponentKind
            from fmbench.plugins import get_registry

            try:
                self._renderer = get_registry().create(
                    ComponentKind.RENDERER, self.summary.renderer.name
                )
            except FmbenchError as exc:
                raise ReportError(
                    f"run {self.summary.run_id}: renderer {self.summary.renderer.name!r} "
                    f"is not available ({exc})"
                ) from None
            if self._renderer.identity != self.summary.renderer.identity:
                self.notes.append(
                    f"re-rendered with {self._renderer.identity}; the run used "
                    f"{self.summary.renderer.identity}"
                )
        return self._renderer

    # -- rendering -----------------------------------------------------------------
    def render(self, patches: Iterable[Patch]) -> dict[str, Audio]:
        """Audio by patch content hash: from the render cache (the run's own keys),
        rendering the misses."""
        from fmbench.render import render_with_cache

        jobs: dict[str, Patch] = {}
        for p in patches:
            jobs.setdefault(p.content_hash, p)
        if not jobs:
            return {}
        from fmbench.executor import LocalExecutor

        executor = LocalExecutor(self.workers)
        try:
            out, _failures = render_with_cache(
                list(jobs.values()),
                self.renderer(),
                self.settings,
                self.cache,
                executor,
                identity=self.summary.renderer.identity,  # the renders the run scored
            )
        finally:
            executor.close()
        return out

    # -- the items -----------------------------------------------------------------
    def load(self, ids: Sequence[str] | None = None, *, reference: bool = True) -> list[ItemAudio]:
        """Generated (and reference) audio of the run's items (all, or ``ids``)."""
        wanted = None if ids is None else set(ids)
        rows = self.rows if wanted is None else [r for r in self.rows if r["id"] in wanted]
        saved = self.run_dir / AUDIO_DIR
        items = {r["id"]: ItemAudio(r["id"]) for r in rows}
        to_render: dict[str, Patch] = {}
        refs: dict[str, Patch] = {}
        direct = None
        for r in rows:
            it = items[r["id"]]
            stem = safe_name(r["id"])
            if (saved / f"{stem}.flac").is_file():
                it.generated = read_audio(saved / f"{stem}.flac")
            elif r.get("direct_audio") in (True, 1.0, "True"):
                direct = _direct_audio_paths(self.run_dir) if direct is None else direct
                path = direct.get(r["id"])
                try:
                    it.generated = read_audio(path) if path else None
                    if it.generated is None:
                        it.generated_note = "the generator's audio file is not recorded"
                except Exception as exc:  # noqa: BLE001 - any unreadable file is reported
                    it.generated_note = f"cannot read the generator's audio file {path}: {exc}"
            else:
                patch = _patch_of(r)
                if patch is not None:
                    to_render[r["id"]] = patch
                else:
                    it.generated_note = "no patch to render (the output failed; see the reply)"
            if reference and (saved / REFERENCE_SUBDIR / f"{stem}.flac").is_file():
                it.reference = read_audio(saved / REFERENCE_SUBDIR / f"{stem}.flac")
        bench_items = self.benchmark_items()
        for i, it in items.items():
            item = bench_items.get(i)
            it.reference_patch = item.reference_patch if item is not None else None
            if not reference or it.reference is not None:
                continue
            if it.reference_patch is not None:
                refs[i] = it.reference_patch
            elif not bench_items and self.notes:
                it.reference_note = self.notes[-1]
            else:
                it.reference_note = "the benchmark has no reference patch for this item"
        audio = self.render([*to_render.values(), *refs.values()])
        for i, p in to_render.items():
            it = items[i]
            it.generated = audio[p.content_hash]
        for i, p in refs.items():
            items[i].reference = audio[p.content_hash]
        by_id = {r["id"]: r for r in rows}
        for i, it in items.items():
            recorded = by_id[i].get("audio_hash")
            if it.generated is not None and isinstance(recorded, str) and recorded:
                if it.generated.content_hash != recorded:
                    it.generated_note = (
                        "this audio differs from the audio the run scored (the renderer or "
                        "its settings changed since the run)"
                    )
        return [items[r["id"]] for r in rows]


def export_audio(
    run_dir: str | os.PathLike[str],
    *,
    reference: bool = True,
    cache: Cache | None = None,
    benchmark: Any = None,
    workers: int = 1,
) -> Path:
    """Write a run's audio into ``<run_dir>/audio/`` (``fmbench run --save-audio``).

    Generated audio goes to ``audio/<name>.flac`` and reference audio to
    ``audio/reference/<name>.flac`` (16-bit FLAC, lossless for int16 renders), where
    ``<name>`` is :func:`safe_name` of the item id; ``audio/index.csv`` maps ids to
    files and says why an item has none. Audio comes from :class:`RunAudio`. A complete
    run's manifest is rewritten so the run stays complete. ``benchmark`` overrides the
    benchmark the reference patches come from. Returns the audio folder.
    """
    run_dir = Path(run_dir)
    was_complete = RunDir(run_dir).is_complete()
    source = RunAudio(run_dir, cache=cache, benchmark=benchmark, workers=workers)
    folder = run_dir / AUDIO_DIR
    index = io.StringIO()
    w = csv.writer(index, lineterminator="\n")
    w.writerow(["id", "file", "reference_file", "note", "reference_note"])
    for it in source.load(reference=reference):
        stem = safe_name(it.id)
        gen_file = ref_file = ""
        if it.generated is not None:
            gen_file = f"{stem}.flac"
            if not (folder / gen_file).is_file():
                write_audio(folder / gen_file, it.generated)
        if it.reference is not None:
            ref_file = f"{REFERENCE_SUBDIR}/{stem}.flac"
            if not (folder / ref_file).is_file():
                write_audio(folder / ref_file, it.reference)
        w.writerow([it.id, gen_file, ref_file, it.generated_note, it.reference_note])
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / AUDIO_INDEX, index.getvalue())
    if was_complete:
        RunDir(run_dir).write_manifest()
    return folder
