"""`fmbench render INPUT --out DIR`: render patches to audio files, resumably.

INPUT is a dataset CSV (spec §6.1: ``id``, ``wav_path``, ``patch_data``), a JSON-lines file
(records ``{"id": …, "patch": {…}}`` as written by ``fmbench patch from-syx``, or bare patch
dicts) or a ``.syx`` bank. Every output is written atomically (temporary name, then rename)
and recorded in ``DIR/manifest.jsonl`` (one JSON object per input row, also mirrored to
``DIR/manifest.csv``) with its content key = hash of (patch, renderer identity, render
settings, format). A rerun skips rows whose file exists and whose manifest key matches, so
an interrupted run resumes where it stopped. A row whose patch cannot be parsed or is
invalid is recorded as ``failed`` with the reason; the other rows continue.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fmbench.cli.common import workers_option
from fmbench.errors import FmbenchError

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
    "error",
)


@dataclass
class _Row:
    """One input row: where it came from, its output path and its patch (or the error)."""

    label: str  # e.g. "data.csv, line 7 (id abc)"
    id: str
    out_rel: str
    patch: Any = None  # fmbench.patch.model.Patch
    error: str | None = None


def _safe_name(text: str) -> str:
    keep = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in text).strip("._")
    return keep or "item"


def _out_rel(path: str, fmt: str) -> str:
    p = Path(path)
    if p.is_absolute() or ".." in p.parts:
        raise ValueError(f"output path {path!r} must be relative and stay inside --out")
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
            label = f"{path.name}, line {n} (id {rid})"
            wav = (rec.get("wav_path") or "").strip() or f"{_safe_name(rid)}.wav"
            try:
                out_rel = _out_rel(wav, fmt)
            except ValueError as exc:
                yield _Row(label, rid, f"{_safe_name(rid)}.{fmt}", error=str(exc))
                continue
            try:
                obj = parse_patch_data(rec.get("patch_data") or "", where=label)
            except FmbenchError as exc:
                yield _Row(label, rid, out_rel, error=str(exc))
                continue
            patch, err = _patch_from(obj, repair)
            yield _Row(label, rid, out_rel, patch, err)


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
            if isinstance(rec, dict) and isinstance(rec.get("patch"), dict | str):
                rid = str(rec.get("id") or f"line{n}")
                obj = rec["patch"]
                if isinstance(obj, str):
                    try:
                        obj = json.loads(obj)
                    except ValueError as exc:
                        yield _Row(label, rid, f"{_safe_name(rid)}.{fmt}", error=str(exc))
                        continue
            else:
                rid = str(rec.get("id") or f"line{n}") if isinstance(rec, dict) else f"line{n}"
                obj = rec
            label = f"{label} (id {rid})"
            patch, err = _patch_from(obj, repair)
            yield _Row(label, rid, f"{_safe_name(rid)}.{fmt}", patch, err)


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


def read_rows(path: Path, fmt: str = "wav", repair: str | None = None) -> Iterator[_Row]:
    """The rows of a render INPUT (CSV, JSONL or .syx), lazily, errors captured per row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _rows_csv(path, fmt, repair)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _rows_jsonl(path, fmt, repair)
    if suffix == ".syx":
        return _rows_syx(path, fmt)
    raise FmbenchError(
        f"{path}: unknown input type {suffix or '(no suffix)'!r}; expected .csv (dataset), "
        ".jsonl (patches) or .syx (DX7 bank)"
    )


def content_key(patch_hash: str, renderer_identity: str, settings_key: str, fmt: str) -> str:
    """The identity of one rendered file: what it was made from and how."""
    h = hashlib.sha256()
    for part in (patch_hash, renderer_identity, settings_key, fmt):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


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


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_manifests(out_dir: Path, entries: list[dict[str, Any]]) -> None:
    _atomic_text(
        out_dir / MANIFEST,
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries),
    )
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, extrasaction="ignore")
    w.writeheader()
    for e in entries:
        w.writerow({k: ("" if e.get(k) is None else e.get(k)) for k in MANIFEST_FIELDS})
    _atomic_text(out_dir / MANIFEST_CSV, buf.getvalue())


@click.command("render")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--renderer", default="dx7", show_default=True, help="Registered renderer name.")
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
    renderer: str,
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
    """Render the patches in INPUT (dataset CSV, patches JSONL or .syx bank) into --out.

    Writes one audio file per row plus manifest.jsonl/manifest.csv (id, status, wav_path,
    patch hash, renderer identity, settings, content key, inaudible, peak, rms, error).
    Rows already rendered with the same content key are skipped; invalid rows are
    reported and recorded as failed, the others continue (exit status 1 if any failed).
    """
    from fmbench.audio import is_inaudible, write_audio
    from fmbench.render import RenderSettings, ablate_patch, isolate_patch, render_batch
    from fmbench.render import resolve_renderer as _resolve

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
    rows = list(read_rows(src, fmt, repair))
    if limit is not None:
        rows = rows[: max(0, limit)]
    previous = _read_manifest(out / MANIFEST)

    entries: list[dict[str, Any]] = []
    todo: list[tuple[int, Any]] = []
    seen: dict[str, str] = {}
    n_failed = n_skipped = 0
    for row in rows:
        entry: dict[str, Any] = {"id": row.id, "wav_path": row.out_rel, "renderer": identity}
        entry["settings"] = settings.key
        if row.id in seen:
            row.error = f"duplicate id {row.id!r} (first at {seen[row.id]})"
        seen.setdefault(row.id, row.label)
        if row.error is None:
            patch = row.patch
            if ablate is not None:
                patch = ablate_patch(patch, ablate)
            elif isolate is not None:
                patch = isolate_patch(patch, isolate)
            row.patch = patch
            entry["patch_hash"] = patch.content_hash
            entry["key"] = content_key(patch.content_hash, identity, settings.key, fmt)
            old = previous.get(row.id)
            if (
                old is not None
                and old.get("status") == "ok"
                and old.get("key") == entry["key"]
                and (out / row.out_rel).is_file()
            ):
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
            write_audio(out / entry["wav_path"], audio)
            entry.update(
                status="ok",
                inaudible=is_inaudible(audio),
                peak=round(audio.peak, 6),
                rms=round(audio.rms, 6),
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
