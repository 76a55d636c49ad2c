"""Building datasets: the synthetic benchmark, SysEx imports, auto-captions.

- :func:`make_default` (alias :func:`make_synthetic`) draws patches from
  :mod:`fmbench.synthetic`, renders them, drops duplicates and inaudible renders, splits by
  content hash and captions each item with :mod:`fmbench.captioner`
  (docs/synthetic-benchmark.md). The real-voice default benchmark is built by
  :mod:`fmbench.corpus`.
- :func:`import_syx` turns DX7 banks into a dataset (docs/datasets.md), de-duplicated by patch
  content (names ignored), with ``inaudible`` and ``has_fixed_freqs`` flags.
- :func:`caption_dataset` captions any dataset from its audio files or fresh renders.

Splits are decided by the patch's content hash alone (:func:`split_of`), so an item lands in
the same split whatever else is in the dataset and whatever order it was built in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.dataset import DatasetError, DatasetRow, read_dataset, write_captions, write_dataset
from fmbench.errors import FmbenchError
from fmbench.patch.model import Patch
from fmbench.render import DEFAULT_RENDERER, RenderSettings

__all__ = [
    "DEFAULT_COLLECTION",
    "BuildReport",
    "caption_dataset",
    "hash_fraction",
    "import_syx",
    "make_default",
    "make_synthetic",
    "split_of",
]

#: top-level folder of the default benchmark's wav paths
DEFAULT_COLLECTION = "fmbench_default"
#: the default benchmark's test share: about 100 test items per 1000 train items
DEFAULT_TEST_FRACTION = 1.0 / 11.0
_BATCH = 32


def hash_fraction(content_hash: str) -> float:
    """A number in [0, 1) from the first 13 hex digits of a content hash (uniform)."""
    return int(content_hash[:13], 16) / float(16**13)


def split_of(content_hash: str, test_fraction: float) -> str:
    """``"test"`` if :func:`hash_fraction` of the hash is below ``test_fraction``, else
    ``"train"``: deterministic and independent of the rest of the dataset."""
    return "test" if hash_fraction(content_hash) < test_fraction else "train"


@dataclass
class BuildReport:
    """What a dataset build did (printed by the CLI; ``import-syx`` also writes it)."""

    files: dict[str, str] = field(default_factory=dict)
    n_candidates: int = 0
    n_train: int = 0
    n_test: int = 0
    n_duplicates: int = 0
    n_inaudible: int = 0
    n_fixed: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return dict(self.__dict__)


def _renderer(renderer: Any) -> Any:
    from fmbench.render import resolve_renderer

    return resolve_renderer(renderer)


def _render_all(
    patches: Sequence[Patch], settings: RenderSettings, renderer: Any, workers: int
) -> Iterator[Any]:
    from fmbench.render import render_batch

    return render_batch(patches, settings, renderer=renderer, workers=workers)


def _progress(total: int | None, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="patch", disable=not enabled, leave=False)


def _default_name(family: str, index: int) -> str:
    return f"{family.upper()[:5]:<5}{index % 10000:04d}"


def _wav_path(collection: str, folder: str, voice: int, name: str) -> str:
    from fmbench.patch.names import is_valid_name_char

    safe = "".join(ch for ch in name if is_valid_name_char(ch)) or "_"
    return f"{collection}/{folder}/{voice}_{safe}.wav"


# -- the default benchmark ---------------------------------------------------------------
def make_default(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    n_train: int = 1000,
    n_test: int = 100,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    max_candidates: int | None = None,
    settings: RenderSettings | None = None,
    renderer: Any = DEFAULT_RENDERER,
    workers: int = 1,
    progress: bool = False,
) -> BuildReport:
    """Generate the default benchmark's data into ``out_dir`` (train.csv, test.csv,
    captions.csv) and return a report.

    Candidate ``i`` is :func:`fmbench.synthetic.sample_patch` ``(seed, i)``; it becomes item id
    ``i`` unless it duplicates an earlier candidate, renders inaudible, or its split (by
    content hash) is already full. Generation stops when both splits are full, or after
    ``max_candidates`` candidates (so a prefix of the dataset can be rebuilt on its own).
    Bit-for-bit reproducible for the same seed, sizes, renderer and numpy.
    """
    from fmbench.audio import is_inaudible
    from fmbench.captioner import caption_from, describe
    from fmbench.synthetic import sample_patch

    settings = settings or RenderSettings()
    rend = _renderer(renderer)
    limit = max_candidates if max_candidates is not None else 20 * (n_train + n_test) + 100
    want = {"train": n_train, "test": n_test}
    rows: dict[str, list[DatasetRow]] = {"train": [], "test": []}
    captions: dict[str, str] = {}
    seen: dict[str, int] = {}
    report = BuildReport()
    bar = _progress(n_train + n_test, "make-default", progress)
    index = 0
    try:
        while index < limit and any(len(rows[s]) < want[s] for s in want):
            batch = []
            for i in range(index, min(index + _BATCH, limit)):
                patch, family = sample_patch(seed, i)
                h = patch.content_hash
                if h in seen:
                    report.n_duplicates += 1
                    report.duplicates.append({"candidate": i, "duplicate_of": seen[h]})
                    continue
                seen[h] = i
                split = split_of(h, test_fraction)
                if len(rows[split]) >= want[split]:
                    continue
                batch.append((i, patch, family, split))
            report.n_candidates = index = min(index + _BATCH, limit)
            audios = _render_all([b[1] for b in batch], settings, rend, workers)
            for (i, patch, family, split), audio in zip(batch, audios, strict=True):
                if len(rows[split]) >= want[split]:
                    continue
                if is_inaudible(audio):
                    report.n_inaudible += 1
                    continue
                d = describe(
                    audio,
                    release_at=settings.hold_seconds,
                    segment_s=settings.segment_samples / settings.sample_rate,
                )
                name = _default_name(family, i)
                rows[split].append(
                    DatasetRow(
                        id=str(i),
                        wav_path=_wav_path(DEFAULT_COLLECTION, f"bank{i // 32:03d}", i % 32, name),
                        patch_data=patch.to_dict(),
                        name=name,
                        inaudible=False,
                        has_fixed_freqs=patch.has_fixed_freqs,
                        extra={"family": family},
                    )
                )
                captions[str(i)] = caption_from(d, patch.content_hash)
                bar.update(1)
    finally:
        bar.close()
    return _write_build(Path(out_dir), rows, captions, report)


#: the synthetic benchmark's builder under the name that says what it is
make_synthetic = make_default


def _write_build(
    out: Path, rows: dict[str, list[DatasetRow]], captions: dict[str, str], report: BuildReport
) -> BuildReport:
    out.mkdir(parents=True, exist_ok=True)
    order = sorted(captions, key=int) if all(k.isdigit() for k in captions) else list(captions)
    for split in ("train", "test"):
        if rows[split]:
            report.files[split] = str(write_dataset(out / f"{split}.csv", rows[split]))
        else:
            report.notes.append(f"the {split} split is empty; no {split}.csv written")
    report.files["captions"] = str(
        write_captions(out / "captions.csv", {k: captions[k] for k in order})
    )
    report.n_train, report.n_test = len(rows["train"]), len(rows["test"])
    report.n_fixed = sum(r.has_fixed_freqs for s in rows.values() for r in s)
    return report


# -- SysEx import ------------------------------------------------------------------------
def import_syx(
    banks: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    collection: str = "DX7_SYX",
    test_fraction: float = 0.1,
    captions: str = "auto",
    render: bool = True,
    settings: RenderSettings | None = None,
    renderer: Any = DEFAULT_RENDERER,
    workers: int = 1,
    progress: bool = False,
) -> BuildReport:
    """Build a dataset from DX7 banks (read with :func:`fmbench.patch.syx.read_syx`).

    Voices are de-duplicated by patch content (the 12 canonical keys; names and the voice
    parameters the patch drops are ignored): the first occurrence, in the order the banks
    are given, is kept and numbered; ids are 0, 1, 2… in that order. ``wav_path`` is
    ``<collection>/<bank stem>/<v>_<name>.wav`` (v = 0-based voice index, name = the
    9-character voice name without ``/``, ``\\`` and control characters). ``inaudible`` is
    set from a render (:func:`fmbench.audio.is_inaudible`); with ``render=False`` it is
    False for every voice (and ``captions="auto"`` is unavailable). ``captions``:
    ``"auto"`` (:func:`fmbench.captioner.caption_voice`: the instrument the voice name states,
    the rest measured), ``"placeholder"`` (the voice name, to be replaced) or
    ``"none"``. Writes train.csv, test.csv, captions.csv and report.json.
    """
    from fmbench.audio import is_inaudible
    from fmbench.patch.syx import read_syx

    if captions not in ("auto", "placeholder", "none"):
        raise FmbenchError(f"captions must be auto, placeholder or none, got {captions!r}")
    if captions == "auto" and not render:
        raise FmbenchError("auto-captions need renders: drop --no-render or use placeholders")
    if not 0.0 <= test_fraction <= 1.0:
        raise FmbenchError(f"--test-fraction must be in [0, 1], got {test_fraction}")
    if not banks:
        raise FmbenchError("no banks given")
    settings = settings or RenderSettings()
    report = BuildReport()
    rows_all: list[tuple[DatasetRow, Patch]] = []
    seen: dict[str, tuple[str, str]] = {}
    for bank_path in banks:
        bank_path = Path(bank_path)
        bank = read_syx(bank_path)
        for v, voice in enumerate(bank.voices):
            report.n_candidates += 1
            patch = voice.to_patch()
            h = patch.content_hash
            label = f"{bank_path.name} voice {v + 1}"
            if h in seen:
                report.n_duplicates += 1
                report.duplicates.append({"voice": label, "duplicate_of": seen[h][1]})
                continue
            rid = str(len(rows_all))
            seen[h] = (rid, label)
            name = "".join(ch if 32 <= ord(ch) != 127 else " " for ch in voice.name_metadata(9))
            rows_all.append(
                (
                    DatasetRow(
                        id=rid,
                        wav_path=_wav_path(collection, bank_path.stem, v, name),
                        patch_data=patch.to_dict(),
                        name=name,
                        inaudible=False,
                        has_fixed_freqs=patch.has_fixed_freqs,
                    ),
                    patch,
                )
            )
    caps: dict[str, str] = {}
    final: list[DatasetRow] = []
    if render:
        from fmbench.captioner import caption_voice, describe

        rend = _renderer(renderer)
        bar = _progress(len(rows_all), "import-syx", progress)
        try:
            audios = _render_all([p for _, p in rows_all], settings, rend, workers)
            for (row, patch), audio in zip(rows_all, audios, strict=True):
                silent = is_inaudible(audio)
                report.n_inaudible += silent
                final.append(_replace(row, inaudible=silent))
                if captions == "auto":
                    d = describe(
                        audio,
                        release_at=settings.hold_seconds,
                        segment_s=settings.segment_samples / settings.sample_rate,
                    )
                    caps[row.id] = caption_voice(d, row.name, patch.content_hash)
                bar.update(1)
        finally:
            bar.close()
    else:
        final = [r for r, _ in rows_all]
        report.notes.append("not rendered: inaudible is False for every voice")
    if captions == "placeholder":
        caps = {r.id: f"{r.name.strip() or 'unnamed'} (placeholder caption)" for r in final}
    split_rows: dict[str, list[DatasetRow]] = {"train": [], "test": []}
    for row, (_, patch) in zip(final, rows_all, strict=True):
        split_rows[split_of(patch.content_hash, test_fraction)].append(row)
    out = Path(out_dir)
    if captions == "none":
        out.mkdir(parents=True, exist_ok=True)
        for split in ("train", "test"):
            if split_rows[split]:
                report.files[split] = str(write_dataset(out / f"{split}.csv", split_rows[split]))
        report.n_train, report.n_test = len(split_rows["train"]), len(split_rows["test"])
        report.n_fixed = sum(r.has_fixed_freqs for r in final)
    else:
        _write_build(out, split_rows, caps, report)
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    report.files["report"] = str(out / "report.json")
    return report


def _replace(row: DatasetRow, **changes: Any) -> DatasetRow:
    import dataclasses

    return dataclasses.replace(row, **changes)


# -- captions for any dataset ------------------------------------------------------------
def caption_dataset(
    dataset_csv: str | os.PathLike[str],
    *,
    audio_dir: str | os.PathLike[str] | None = None,
    render: bool = False,
    settings: RenderSettings | None = None,
    renderer: Any = DEFAULT_RENDERER,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, str]:
    """Captions (id → caption) for every row of a data CSV, from the WAV files under
    ``audio_dir`` (``audio_dir / wav_path``) or from fresh renders of ``patch_data``.

    A missing or unreadable audio file, or an invalid patch when rendering, is a
    :class:`~fmbench.dataset.DatasetError` naming the file and row.
    """
    from fmbench.captioner import caption_from, describe
    from fmbench.patch.canonical import strip_metadata
    from fmbench.patch.errors import InvalidPatchError

    if (audio_dir is None) == (not render):
        raise FmbenchError("give exactly one of --audio-dir DIR or --render")
    settings = settings or RenderSettings()
    rows = read_dataset(dataset_csv)
    keys: list[str] = []
    patches: list[Patch | None] = []
    for r in rows:
        where = f"{dataset_csv}, line {r.line} (id {r.id})"
        try:
            p = Patch.from_dict(strip_metadata(r.patch_data), context=where)
        except InvalidPatchError as exc:
            if render:
                raise DatasetError(str(exc)) from None
            p = None
        patches.append(p)
        keys.append(p.content_hash if p is not None else r.id)

    def audio_source() -> Iterable[Any]:
        if render:
            return _render_all(patches, settings, _renderer(renderer), workers)  # type: ignore[arg-type]
        return (_read_row_audio(Path(audio_dir), dataset_csv, r) for r in rows)  # type: ignore[arg-type]

    out: dict[str, str] = {}
    bar = _progress(len(rows), "caption", progress)
    try:
        for r, key, audio in zip(rows, keys, audio_source(), strict=True):
            d = describe(
                audio,
                release_at=settings.hold_seconds,
                segment_s=settings.segment_samples / settings.sample_rate,
            )
            out[r.id] = caption_from(d, key)
            bar.update(1)
    finally:
        bar.close()
    return out


def _read_row_audio(audio_dir: Path, dataset_csv: Any, row: DatasetRow) -> Any:
    from fmbench.audio import read_audio

    path = audio_dir / row.wav_path
    where = f"{dataset_csv}, line {row.line} (id {row.id})"
    if not path.is_file():
        raise DatasetError(f"{where}: audio file not found: {path}")
    try:
        return read_audio(path)
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types
        raise DatasetError(f"{where}: cannot read audio file {path}: {exc}") from None
