"""`fmbench render INPUT --out DIR`: render patches to audio files, resumably.

INPUT is a dataset CSV (docs/datasets.md: ``id``, ``wav_path``, ``patch_data``), a JSON-lines file
(records ``{"id": …, "patch": {…}}`` as written by ``fmbench patch from-syx``, or bare patch
dicts), a ``.syx`` bank, or a run: its directory, its ``samples.csv`` (the patch each item
rendered) or its ``generations.jsonl`` (the generator's replies, parsed as ``fmbench run``
parses them). Every output is written atomically (temporary name, then rename) and
recorded in ``DIR/manifest.jsonl`` (one JSON object per input row, also mirrored to
``DIR/manifest.csv``) with its content key = hash of (patch, renderer identity, render
settings, format) and the file's size and sha256. A rerun skips rows whose file exists with
that size and hash and whose manifest key matches, so an interrupted run resumes where it
stopped (a truncated or edited file is rendered again); temporaries left by a killed run
are removed. A row whose patch cannot be parsed or is invalid is recorded as ``failed``
with the reason; the other rows continue.

Output names never collide: a file name derived from an id is the id itself when that is
a short, safe file name, and otherwise a cleaned, shortened id plus a hash of the full id
(``a/b`` → ``a_b-<hash>.wav``, while ``a_b`` stays ``a_b.wav``). Two rows that would still
write one file (the same ``wav_path``, or names differing only in case) make the later
row fail. No file is written outside ``--out``, also not through a symbolic link.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fmbench.cli.common import os_error_message, workers_option
from fmbench.errors import FmbenchError

if TYPE_CHECKING:
    from fmbench.patch.model import Patch
    from fmbench.render import RenderSettings

MANIFEST = "manifest.jsonl"
MANIFEST_CSV = "manifest.csv"
MANIFEST_FIELDS = (
    "id",
    "status",
    "wav_path",
    "patch_hash",
    "renderer",
    "settings",
    "key",
    "inaudible",
    "peak",
    "rms",
    "size",
    "sha256",
    "error",
)
#: longest id shown in messages (a 5000-character id is shortened, not printed whole)
_SHOWN_ID = 60
#: longest file name derived from an id before it is shortened and hashed
_MAX_STEM = 80


@dataclass
class _Row:
    """One input row: where it came from, its output path and its patch (or the error)."""

    label: str  # e.g. "data.csv, line 7 (id abc)"
    id: str
    out_rel: str
    patch: Any = None  # fmbench.patch.model.Patch
    error: str | None = None
    named_by_input: bool = False  # out_rel came from the input (wav_path), not from the id


def _shown(rid: str) -> str:
    """An id for messages: shortened when very long."""
    return rid if len(rid) <= _SHOWN_ID else f"{rid[: _SHOWN_ID - 1]}…"


def _safe_name(text: str) -> str:
    keep = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in text).strip("._")
    return keep or "item"


def _id_stem(rid: str) -> str:
    """A file-name stem for ``rid``, injective over ids: the id itself when it is already a
    short safe name, else its cleaned and shortened form plus 10 hex digits of its sha256."""
    safe = _safe_name(rid)
    if safe == rid and len(rid.encode("utf-8")) <= _MAX_STEM:
        return rid
    digest = hashlib.sha256(rid.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    short = safe.encode("utf-8")[:_MAX_STEM].decode("utf-8", "ignore").rstrip("._") or "item"
    return f"{short}-{digest}"


def _out_rel(path: str, fmt: str) -> str:
    from fmbench.files import MAX_NAME_BYTES

    if "\0" in path:
        raise ValueError(f"output path {_shown(path)!r} contains a NUL character")
    p = Path(path)
    if p.is_absolute() or ".." in p.parts:
        raise ValueError(f"output path {path!r} must be relative and stay inside --out")
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in p.parts):
        raise ValueError(
            f"output path {_shown(path)!r} has a name longer than {MAX_NAME_BYTES} bytes"
        )
    return str(p.with_suffix("." + fmt))


def _patch_from(obj: Any, repair: str | None) -> tuple[Any, str | None]:
    from fmbench.patch.errors import InvalidPatchError
    from fmbench.patch.model import Patch

    if not isinstance(obj, dict):
        return None, f"patch is a {type(obj).__name__}, not an object"
    data = {k: v for k, v in obj.items() if k not in ("name", "has_fixed_freqs")}
    try:
        return Patch.from_dict(data), None
    except InvalidPatchError as exc:
        if repair is None:
            return None, str(exc)
        from fmbench.patch.repair import repair as do_repair

        try:
            patch, _notes = do_repair(data, repair)
            return patch, None
        except InvalidPatchError as exc2:
            return None, f"invalid patch even after {repair!r} repair: {exc2}"


def _rows_csv(path: Path, fmt: str, repair: str | None) -> Iterator[_Row]:
    from fmbench.dataset import parse_patch_data

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        names = reader.fieldnames or []
        missing = [c for c in ("id", "patch_data") if c not in names]
        if missing:
            raise FmbenchError(
                f"{path}: not a dataset CSV: missing column(s) {', '.join(missing)} "
                f"(found {', '.join(n for n in names if n) or 'none'})"
            )
        for n, rec in enumerate(reader, start=2):
            rid = (rec.get("id") or "").strip() or f"line{n}"
            label = f"{path.name}, line {n} (id {_shown(rid)})"
            given = (rec.get("wav_path") or "").strip()
            wav = given or f"{_id_stem(rid)}.wav"
            try:
                out_rel = _out_rel(wav, fmt)
            except ValueError as exc:
                yield _Row(label, rid, f"{_id_stem(rid)}.{fmt}", error=str(exc))
                continue
            try:
                obj = parse_patch_data(rec.get("patch_data") or "", where=label)
            except FmbenchError as exc:
                yield _Row(label, rid, out_rel, error=str(exc), named_by_input=bool(given))
                continue
            patch, err = _patch_from(obj, repair)
            yield _Row(label, rid, out_rel, patch, err, named_by_input=bool(given))


def _rows_samples(path: Path, fmt: str, repair: str | None) -> Iterator[_Row]:
    """The rows of a run's ``samples.csv``: the ``patch`` column is the patch each item
    rendered in that run (after any repair); items without one are failed rows."""
    from fmbench.run.rundir import read_samples_csv

    for n, rec in enumerate(read_samples_csv(path), start=2):
        rid = str(rec["id"])
        label = f"{path.name}, line {n} (id {_shown(rid)})"
        out_rel = f"{_id_stem(rid)}.{fmt}"
        text = rec.get("patch")
        if not isinstance(text, str) or not text.strip():
            why = rec.get("parse_error") if isinstance(rec.get("parse_error"), str) else ""
            reason = "the run has no rendered patch for this item"
            yield _Row(label, rid, out_rel, error=f"{reason}: {why}" if why else reason)
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield _Row(label, rid, out_rel, error=f"column 'patch' is not JSON: {exc}")
            continue
        patch, err = _patch_from(obj, repair)
        yield _Row(label, rid, out_rel, patch, err)


def _generation_patch(rec: dict[str, Any]) -> tuple[Any, str | None]:
    """The patch object of a ``generations.jsonl`` record (its ``patch``, else its
    ``raw_output`` parsed as ``fmbench run`` parses replies), or ``(None, reason)``."""
    if isinstance(rec.get("patch"), dict):
        return rec["patch"], None
    raw = rec.get("raw_output")
    if isinstance(raw, str):
        from fmbench.patch.errors import PatchParseError
        from fmbench.patch.parse import parse_reply

        try:
            return parse_reply(raw), None
        except PatchParseError as exc:
            return None, f"the reply does not parse: {exc}"
    if rec.get("audio_path"):
        return None, "the generator produced audio directly; there is no patch to render"
    info = rec.get("info") if isinstance(rec.get("info"), dict) else {}
    return None, str(info.get("error") or "the generator produced no output")


def _rows_jsonl(path: Path, fmt: str, repair: str | None) -> Iterator[_Row]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            label = f"{path.name}, line {n}"
            try:
                rec = json.loads(line)
            except ValueError as exc:
                yield _Row(label, f"line{n}", f"line{n}.{fmt}", error=f"not JSON: {exc}")
                continue
            is_record = isinstance(rec, dict) and "id" in rec
            if is_record and ("raw_output" in rec or "audio_path" in rec):
                # a run's generations.jsonl: {"id", "raw_output", "patch", "info", ...}
                rid = str(rec["id"])
                label = f"{label} (id {_shown(rid)})"
                obj, err = _generation_patch(rec)
                if err is not None:
                    yield _Row(label, rid, f"{_id_stem(rid)}.{fmt}", error=err)
                    continue
            elif isinstance(rec, dict) and isinstance(rec.get("patch"), dict | str):
                rid = str(rec.get("id") or f"line{n}")
                obj = rec["patch"]
                if isinstance(obj, str):
                    try:
                        obj = json.loads(obj)
                    except ValueError as exc:
                        yield _Row(label, rid, f"{_id_stem(rid)}.{fmt}", error=str(exc))
                        continue
                label = f"{label} (id {_shown(rid)})"
            else:
                rid = str(rec.get("id") or f"line{n}") if isinstance(rec, dict) else f"line{n}"
                obj = rec
                label = f"{label} (id {_shown(rid)})"
            patch, err = _patch_from(obj, repair)
            yield _Row(label, rid, f"{_id_stem(rid)}.{fmt}", patch, err)


def _rows_syx(path: Path, fmt: str) -> Iterator[_Row]:
    try:
        from fmbench.patch.syx import read_syx
    except ImportError as exc:  # pragma: no cover - syx ships with fmbench
        raise FmbenchError(f"{path}: SysEx import is not available ({exc})") from None
    bank = read_syx(path)
    for i, voice in enumerate(bank):
        rid = f"{_safe_name(path.stem)}_{i + 1:02d}"
        label = f"{path.name}, voice {i + 1} ({voice.name_metadata().rstrip()!r})"
        try:
            patch = voice.to_patch()
        except FmbenchError as exc:
            yield _Row(label, rid, f"{rid}.{fmt}", error=str(exc))
            continue
        yield _Row(label, rid, f"{rid}.{fmt}", patch)


def _is_samples_csv(path: Path) -> bool:
    """True for a run's ``samples.csv`` (an ``id`` and a ``patch`` column, no
    ``patch_data``), False for a dataset CSV."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    return "id" in header and "patch" in header and "patch_data" not in header


def resolve_input(path: Path) -> Path:
    """The file to read for INPUT: a run directory means its ``samples.csv`` (or, for a run
    that did not get that far, its ``generations.jsonl``)."""
    if not path.is_dir():
        return path
    for name in ("samples.csv", "generations.jsonl"):
        if (path / name).is_file():
            return path / name
    raise FmbenchError(
        f"{path}: a folder, but not a run directory (no samples.csv or generations.jsonl); "
        "give a dataset CSV, a patches JSONL, a .syx bank or a run directory"
    )


def read_rows(path: Path, fmt: str = "wav", repair: str | None = None) -> Iterator[_Row]:
    """The rows of a render INPUT (dataset CSV, run samples.csv, JSONL incl. a run's
    generations.jsonl, or .syx; a run directory is read through :func:`resolve_input`),
    lazily, errors captured per row."""
    path = resolve_input(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if _is_samples_csv(path):
            return _rows_samples(path, fmt, repair)
        return _rows_csv(path, fmt, repair)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _rows_jsonl(path, fmt, repair)
    if suffix == ".syx":
        return _rows_syx(path, fmt)
    raise FmbenchError(
        f"{path}: unknown input type {suffix or '(no suffix)'!r}; expected .csv (dataset or a "
        "run's samples.csv), .jsonl (patches or a run's generations.jsonl), .syx (DX7 bank) "
        "or a run directory"
    )


def content_key(patch: Patch, renderer_identity: str, settings: RenderSettings, fmt: str) -> str:
    """The identity of one rendered file: its render's content key and the file format."""
    from fmbench.cache import make_key
    from fmbench.render import render_key

    return make_key(render_key(patch, renderer_identity, settings), fmt)[:32]


def _read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:  # a line cut by a kill: ignore
                continue
            if isinstance(rec, dict) and "id" in rec:
                entries[str(rec["id"])] = rec
    return entries


def _remove_stale_temporaries(out_dir: Path) -> int:
    """Delete ``.*.part`` files a killed render left in ``out_dir`` (not following
    symbolic links); returns how many. One render at a time per output folder."""
    removed = 0
    for folder, _dirs, files in os.walk(out_dir):
        for name in files:
            if name.startswith(".") and name.endswith(".part"):
                p = Path(folder) / name
                if p.is_file() and not p.is_symlink():
                    p.unlink()
                    removed += 1
    return removed


def _inside(out_dir: Path, rel: str) -> bool:
    """True when ``out_dir/rel`` stays inside ``out_dir`` once symbolic links in the
    existing part of the path are followed (the file itself may be a link: it is
    replaced, not followed)."""
    root = out_dir.resolve()
    parent = (out_dir / rel).parent.resolve()
    return parent == root or root in parent.parents


def _file_facts(path: Path) -> tuple[int, str]:
    from fmbench.files import sha256_file

    return path.stat().st_size, sha256_file(path)


def _up_to_date(old: dict[str, Any] | None, key: str, target: Path) -> bool:
    """True when a previous manifest entry recorded this content key and the file on disk
    is still the one it wrote (same size and sha256: a truncated file is redone)."""
    if old is None or old.get("status") != "ok" or old.get("key") != key:
        return False
    if target.is_symlink() or not target.is_file() or not old.get("sha256"):
        return False
    try:
        return _file_facts(target) == (int(old.get("size", -1)), old["sha256"])
    except (OSError, ValueError, TypeError):
        return False


def _write_manifests(out_dir: Path, entries: list[dict[str, Any]]) -> None:
    from fmbench.files import atomic_write_text

    atomic_write_text(
        out_dir / MANIFEST,
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries),
    )
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, extrasaction="ignore")
    w.writeheader()
    for e in entries:
        w.writerow({k: ("" if e.get(k) is None else e.get(k)) for k in MANIFEST_FIELDS})
    atomic_write_text(out_dir / MANIFEST_CSV, buf.getvalue())


@click.command("render")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--renderer",
    default=None,
    help="Registered renderer name (default: the built-in DX7 engine).",
)
@click.option(
    "--fidelity",
    default=None,
    help="Renderer fidelity mode (dx7: reference | hardware; default: the renderer's).",
)
@click.option(
    "--sine",
    default=None,
    help="Renderer sine mode (dx7: exact | fast, fast = not bit-identical on chaotic "
    "feedback voices; default: the renderer's, exact). Part of the renderer identity.",
)
@workers_option("Render processes")
@click.option(
    "--format", "fmt", type=click.Choice(["wav", "flac"]), default="wav", show_default=True
)
@click.option("--limit", type=int, default=None, help="Only the first N input rows.")
@click.option("--note", "notes", type=int, multiple=True, help="MIDI note (repeatable; 60).")
@click.option("--velocity", "velocities", type=int, multiple=True, help="Velocity (100).")
@click.option("--sample-rate", type=int, default=48_000, show_default=True)
@click.option(
    "--ablate", type=click.IntRange(1, 6), default=None, help="Silence OPk (ol = 0) first."
)
@click.option(
    "--isolate",
    type=click.IntRange(1, 6),
    default=None,
    help="Render only OPk and its modulators, OPk the sole carrier.",
)
@click.option(
    "--repair",
    type=click.Choice(["clamp", "seed"]),
    default=None,
    help="Repair invalid patches with this policy instead of failing the row.",
)
@click.option("--progress/--no-progress", default=True, show_default=True)
def render_cmd(
    input_path: str,
    out_dir: str,
    renderer: str | None,
    fidelity: str | None,
    sine: str | None,
    workers: int,
    fmt: str,
    limit: int | None,
    notes: tuple[int, ...],
    velocities: tuple[int, ...],
    sample_rate: int,
    ablate: int | None,
    isolate: int | None,
    repair: str | None,
    progress: bool,
) -> None:
    """Render the patches in INPUT into --out: a dataset CSV, a patches JSONL, a .syx
    bank, or a run (its directory, samples.csv or generations.jsonl).

    Writes one audio file per row plus manifest.jsonl/manifest.csv (id, status, wav_path,
    patch hash, renderer identity, settings, content key, inaudible, peak, rms, file size
    and sha256, error). Rows already rendered with the same content key (and whose file is
    intact) are skipped; invalid rows are reported and recorded as failed, the others
    continue (exit status 1 if any failed).
    """
    from fmbench.audio import is_inaudible, write_audio
    from fmbench.render import (
        DEFAULT_RENDERER,
        RenderSettings,
        ablate_patch,
        isolate_patch,
        render_batch,
    )
    from fmbench.render import resolve_renderer as _resolve

    renderer = renderer or DEFAULT_RENDERER

    if ablate is not None and isolate is not None:
        raise FmbenchError("--ablate and --isolate are mutually exclusive")
    if workers < 1:
        raise FmbenchError(f"--workers must be >= 1, got {workers}")
    try:
        settings = RenderSettings(
            sample_rate=sample_rate, notes=notes or (60,), velocities=velocities or (100,)
        )
    except ValueError as exc:
        raise FmbenchError(f"invalid render settings: {exc}") from None
    options = {"fidelity": fidelity} if fidelity else {}
    if sine:
        options["sine"] = sine
    try:
        instance = _resolve(renderer, **options)
    except TypeError as exc:
        raise FmbenchError(f"renderer {renderer!r} does not accept {options}: {exc}") from None
    identity = instance.identity

    src = Path(input_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / MANIFEST).is_symlink():
        raise FmbenchError(
            f"{out / MANIFEST} is a symbolic link; fmbench will not write through it"
        )
    try:
        rows = list(read_rows(src, fmt, repair))
    except UnicodeDecodeError as exc:
        raise FmbenchError(f"{src}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise FmbenchError(f"{src}: malformed CSV ({exc})") from None
    if limit is not None:
        rows = rows[: max(0, limit)]
    _remove_stale_temporaries(out)
    previous = _read_manifest(out / MANIFEST)

    entries: list[dict[str, Any]] = []
    todo: list[tuple[int, Any]] = []
    seen: dict[str, str] = {}
    files: dict[str, str] = {}  # case-folded output path -> the id writing it
    n_failed = n_skipped = 0
    for row in rows:
        if row.id in seen:
            row.error = f"duplicate id {_shown(row.id)!r} (first at {seen[row.id]})"
        seen.setdefault(row.id, row.label)
        owner = files.get(row.out_rel.casefold())
        if row.error is None and owner is not None and owner != row.id:
            if row.named_by_input:
                row.error = (
                    f"output file {row.out_rel!r} is already written by id {_shown(owner)!r}"
                )
            else:  # a derived name that an input wav_path took (or that differs in case)
                stem = _id_stem(row.id)
                digest = hashlib.sha256(row.id.encode("utf-8", "surrogatepass")).hexdigest()
                row.out_rel = str(Path(row.out_rel).with_name(f"{stem}-{digest[:10]}.{fmt}"))
                if row.out_rel.casefold() in files:
                    row.error = f"output file {row.out_rel!r} is already written by another id"
        if row.error is None and not _inside(out, row.out_rel):
            row.error = f"output path {row.out_rel!r} leads outside --out (a symbolic link)"
        files.setdefault(row.out_rel.casefold(), row.id)
        entry: dict[str, Any] = {"id": row.id, "wav_path": row.out_rel, "renderer": identity}
        entry["settings"] = settings.key
        if row.error is None:
            patch = row.patch
            if ablate is not None:
                patch = ablate_patch(patch, ablate)
            elif isolate is not None:
                patch = isolate_patch(patch, isolate)
            row.patch = patch
            entry["patch_hash"] = patch.content_hash
            entry["key"] = content_key(patch, identity, settings, fmt)
            old = previous.get(row.id)
            if _up_to_date(old, entry["key"], out / row.out_rel) and old is not None:
                entries.append(old)
                n_skipped += 1
                continue
            entry["status"] = "pending"
            todo.append((len(entries), patch))
        else:
            entry.update(status="failed", error=row.error)
            click.echo(f"Error: {row.label}: {row.error}", err=True)
            n_failed += 1
        entries.append(entry)

    from tqdm import tqdm

    bar = tqdm(total=len(rows), initial=len(rows) - len(todo), disable=not progress, unit="patch")
    log = open(out / MANIFEST, "a", encoding="utf-8")  # noqa: SIM115 - progress log, closed below
    try:
        audios = render_batch((p for _, p in todo), settings, renderer=instance, workers=workers)
        for (index, _), audio in zip(todo, audios, strict=True):
            entry = entries[index]
            target = out / entry["wav_path"]
            try:
                write_audio(target, audio)
                size, digest = _file_facts(target)
            except OSError as exc:
                if os_error_message(exc) is not None and exc.errno != errno.ENAMETOOLONG:
                    raise  # full disk, read-only folder...: stop with one clean line
                entry.update(status="failed", error=f"cannot write {entry['wav_path']}: {exc}")
                click.echo(f"Error: id {_shown(entry['id'])}: {entry['error']}", err=True)
                n_failed += 1
                bar.update(1)
                continue
            entry.update(
                status="ok",
                inaudible=is_inaudible(audio),
                peak=round(audio.peak, 6),
                rms=round(audio.rms, 6),
                size=size,
                sha256=digest,
            )
            log.write(json.dumps(entry) + "\n")  # survives a kill; compacted below
            log.flush()
            bar.update(1)
    finally:
        log.close()
        bar.close()
        _write_manifests(out, [e for e in entries if e.get("status") != "pending"])

    n_ok = sum(1 for e in entries if e.get("status") == "ok") - n_skipped
    click.echo(
        f"rendered {n_ok}, skipped {n_skipped} (up to date), failed {n_failed} → {out}",
        err=True,
    )
    if n_failed:
        raise SystemExit(1)
