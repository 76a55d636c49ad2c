"""The run directory: ``runs/<run-id>/`` with a samples table, ``summary.json`` and a manifest.

A run directory holds

* ``samples.csv`` – one row per benchmark item (see ``docs/leaderboard.md`` and the run
  contract): text columns, boolean flags, JSON columns and one float column per metric
  output (NaN allowed, with the reason in a ``note:<column>`` column);
* ``summary.json`` – a versioned :class:`RunSummary` (``schema_version`` =
  :data:`SCHEMA_VERSION`);
* ``manifest.json`` – the sha256 and size of every other file, written **last**.

A run is complete only when all three exist and every hash in the manifest matches
(HELM's ``_is_run_completed`` idea): a run killed half-way is never mistaken for a
finished one. Every write is atomic (temporary file + :func:`os.replace`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fmbench.files import atomic_write_text, sha256_file, slugify
from fmbench.run.summary import (
    SCHEMA_VERSION,
    SUMMARY_JSON,
    IncompleteRunError,
    RunStoreError,
    RunSummary,
    load_summary,
)

SAMPLES_CSV = "samples.csv"
MANIFEST_JSON = "manifest.json"
CONFIG_JSON = "config.json"
GENERATIONS_JSONL = "generations.jsonl"
GENERATOR_JSON = "generator.json"
SCORES_DIR = "scores"
LOCK_FILE = ".lock"


class RunLockedError(RunStoreError):
    """Another live process owns the run directory."""


#: Columns of ``samples.csv`` that hold text (everything else that parses as a float is one).
TEXT_COLUMNS = frozenset({"id", "caption", "raw_output", "parse_error", "patch", "audio_hash"})
#: Boolean columns, written as ``True``/``False``.
BOOL_COLUMNS = frozenset({"parsed_ok", "valid", "repaired", "rendered", "inaudible"})
#: Columns holding JSON (written compactly).
JSON_COLUMNS = frozenset({"problems"})
NOTE_PREFIX = "note:"


def make_run_id(
    benchmark: str,
    generator: str,
    *,
    when: _dt.datetime | None = None,
    key: str | None = None,
) -> str:
    """``<benchmark>-<generator>-<YYYYmmdd-HHMMSS>-<short hash>``.

    The short hash is 6 hex digits of sha256 over ``key`` (e.g. the run's configuration)
    plus the timestamp, or of random bytes when ``key`` is None.
    """
    when = when or _dt.datetime.now(_dt.UTC)
    stamp = when.strftime("%Y%m%d-%H%M%S")
    material = (key.encode() + stamp.encode()) if key is not None else os.urandom(16)
    short = hashlib.sha256(material).hexdigest()[:6]
    return f"{slugify(benchmark)}-{slugify(generator)}-{stamp}-{short}"


# --------------------------------------------------------------------------------------
# samples table encoding


def _encode_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    try:  # numpy scalars
        return _encode_cell(column, value.item())
    except AttributeError:
        return str(value)


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def _decode_cell(column: str, text: str, where: str) -> Any:
    if column in TEXT_COLUMNS or column.startswith(NOTE_PREFIX):
        return text
    if column in BOOL_COLUMNS:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise RunStoreError(f"{where}: column {column!r} must be True/False, not {text!r}")
    if column in JSON_COLUMNS:
        if not text.strip():
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise RunStoreError(f"{where}: column {column!r} is not valid JSON") from None
    if not text.strip():
        return math.nan
    try:
        return float(text)
    except ValueError:
        return text  # an extra text column we do not know about


def read_samples_csv(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a samples CSV into typed rows; bad input raises :class:`RunStoreError` naming
    the file and row (empty file, no ``id`` column, empty or duplicate ids)."""
    path = Path(path)
    if not path.exists():
        raise RunStoreError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            if not header:
                raise RunStoreError(f"{path}: empty file (expected a header row with 'id')")
            if "id" not in header:
                raise RunStoreError(f"{path}: missing column 'id' (columns: {', '.join(header)})")
            dupes = sorted({c for c in header if header.count(c) > 1})
            if dupes:
                raise RunStoreError(f"{path}: duplicate column(s) {', '.join(dupes)}")
            rows: list[dict[str, Any]] = []
            seen: dict[str, int] = {}
            for line_no, raw in enumerate(reader, start=2):
                where = f"{path}, row {line_no}"
                if None in raw:
                    raise RunStoreError(f"{where}: more cells than header columns")
                rid = (raw.get("id") or "").strip()
                if not rid:
                    raise RunStoreError(f"{where}: empty 'id'")
                if rid in seen:
                    raise RunStoreError(
                        f"{where}: duplicate id {rid!r} (first seen in row {seen[rid]})"
                    )
                seen[rid] = line_no
                rows.append({k: _decode_cell(k, v or "", where) for k, v in raw.items()})
    except UnicodeDecodeError as exc:
        raise RunStoreError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise RunStoreError(f"{path}: malformed CSV ({exc})") from None
    return rows


def samples_to_csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """Encode rows as CSV text. Columns are the union of keys in first-seen order."""
    rows = list(rows)
    columns: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    if rows and "id" not in seen:
        raise RunStoreError("samples rows must have an 'id' column")
    ids = [str(row.get("id")) for row in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise RunStoreError(f"samples rows have duplicate id {dup!r}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_encode_cell(c, row.get(c)) for c in columns])
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# the run directory


def _jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars and arrays as Python values, else str()."""
    import numpy as np

    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


#: file descriptors of the run-directory locks this process holds (see RunDir.lock)
_HELD_LOCKS: set[int] = set()


def _drop_inherited_locks() -> None:
    """After a fork, the child closes its copies of the parent's lock descriptors: the
    lock belongs to the writing process alone, and a worker that outlives a killed parent
    must not keep the run directory locked."""
    for fd in _HELD_LOCKS:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


class RunDir:
    """Owns every file of one run directory (``runs/<run-id>/``).

    - ``config.json``: the run's configuration (what must match to resume);
    - ``generations.jsonl``: one record per generated item, appended batch by batch, each
      with the generator identity it came from (a torn last line is ignored);
    - ``generator.json``: the generator identity of the run;
    - ``scores/<metric>.json``: one metric's result with the key of everything it was
      computed from (reused on resume only when that key matches);
    - ``samples.csv``, ``summary.json`` and, last, ``manifest.json`` (the completion mark);
    - ``.lock``: held (``flock``) by the one process writing the run, never by its forked
      workers; it dies with it.

    Typical writer sequence: :meth:`lock`, :meth:`write_config`, generations, scores,
    :meth:`write_samples`, :meth:`write_summary`, then :meth:`write_manifest` (last).
    """

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.run_dir = Path(run_dir)
        self._lock_fd: int | None = None

    # -- ownership -------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run directory for this process (creating it), or raise
        :class:`RunLockedError` naming the live holder. The lock is an ``flock`` on
        ``.lock``: the kernel releases it when the holder exits, however it exits."""
        import fcntl
        import socket

        if self._lock_fd is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(
                f"{self.run_dir} is in use by another fmbench process ({holder}); wait for "
                "it to finish, or choose another --run-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        self._lock_fd = fd
        _HELD_LOCKS.add(fd)

    def unlock(self) -> None:
        """Release :meth:`lock` (also released automatically when the process exits)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None and fd in _HELD_LOCKS:  # not a copy dropped after a fork
            _HELD_LOCKS.discard(fd)
            os.close(fd)

    # -- configuration, generations, scores -------------------------------------------
    @property
    def config_path(self) -> Path:
        """``<run_dir>/config.json``."""
        return self.run_dir / CONFIG_JSON

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Write ``config.json`` (the fields a resume must match)."""
        atomic_write_text(self.config_path, json.dumps(config, indent=2, default=_jsonable) + "\n")

    def config_matches(self, wanted: Mapping[str, Any]) -> bool:
        """Whether ``config.json`` exists and holds ``wanted`` (ignoring the version)."""
        try:
            stored = json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        stored.pop("fmbench_version", None)
        wanted = dict(wanted)
        wanted.pop("fmbench_version", None)
        return stored == json.loads(json.dumps(wanted, default=_jsonable))

    def read_generations(self) -> dict[str, dict[str, Any]]:
        """Stored generation records by item id (later lines win; torn lines skipped)."""
        path = self.run_dir / GENERATIONS_JSONL
        done: dict[str, dict[str, Any]] = {}
        if not path.exists():
            return done
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                done[str(rec["id"])] = rec
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that item is generated again
        return done

    def append_generations(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append generation records durably (flushed and fsynced before returning)."""
        path = self.run_dir / GENERATIONS_JSONL
        with path.open("a", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, default=_jsonable) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write_generator(self, identity: str) -> None:
        """Record the generator identity of the run (``generator.json``)."""
        atomic_write_text(self.run_dir / GENERATOR_JSON, json.dumps({"identity": identity}))

    def read_scores(self, label: str) -> dict[str, Any] | None:
        """A stored metric result (``scores/<label>.json``), or None if absent/unreadable."""
        path = self.run_dir / SCORES_DIR / f"{label}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_scores(self, label: str, data: Mapping[str, Any]) -> None:
        """Store one metric's result (``scores/<label>.json``, NaN allowed)."""
        text = json.dumps(data, default=_jsonable, allow_nan=True)
        atomic_write_text(self.run_dir / SCORES_DIR / f"{label}.json", text)

    def drop_scores(self, label: str) -> None:
        """Remove a stored metric result (e.g. one that failed validation)."""
        try:
            (self.run_dir / SCORES_DIR / f"{label}.json").unlink()
        except FileNotFoundError:
            pass

    def __repr__(self) -> str:
        return f"RunDir({str(self.run_dir)!r})"

    @property
    def samples_path(self) -> Path:
        """``<run_dir>/samples.csv``."""
        return self.run_dir / SAMPLES_CSV

    @property
    def summary_path(self) -> Path:
        """``<run_dir>/summary.json``."""
        return self.run_dir / SUMMARY_JSON

    @property
    def manifest_path(self) -> Path:
        """``<run_dir>/manifest.json``."""
        return self.run_dir / MANIFEST_JSON

    def _invalidate(self) -> None:
        # Any new write makes an existing manifest stale: remove it first so a crash
        # between this write and the next manifest never leaves a "complete" run.
        try:
            self.manifest_path.unlink()
        except FileNotFoundError:
            pass

    def write_samples(self, rows: Iterable[Mapping[str, Any]]) -> Path:
        """Write the per-sample table atomically (CSV; see the module docstring)."""
        text = samples_to_csv_text(rows)
        self._invalidate()
        atomic_write_text(self.samples_path, text)
        return self.samples_path

    def read_samples(self) -> list[dict[str, Any]]:
        """Read the per-sample table into typed rows (floats for metric columns, NaN for
        empty cells, bools for flags, a list for ``problems``)."""
        return read_samples_csv(self.samples_path)

    def write_summary(self, summary: RunSummary) -> Path:
        """Write ``summary.json`` atomically (strict JSON: NaN is stored as null)."""
        text = summary.to_json()
        self._invalidate()
        atomic_write_text(self.summary_path, text)
        return self.summary_path

    def load_summary(self) -> RunSummary:
        """Read and validate ``summary.json``."""
        return load_summary(self.summary_path)

    def _files(self) -> list[Path]:
        files = []
        for p in sorted(self.run_dir.rglob("*")):
            if not p.is_file() or (p.name == MANIFEST_JSON and p.parent == self.run_dir):
                continue
            if p.name.endswith(".part") or p.name.startswith("."):
                continue  # temporaries and hidden state (e.g. resume checkpoints)
            files.append(p)
        return files

    def write_manifest(self) -> Path:
        """Write ``manifest.json`` (sha256 + size of every file in the run, sorted by path),
        atomically. Call it last: it is what marks the run complete."""
        missing = [n for n in (SAMPLES_CSV, SUMMARY_JSON) if not (self.run_dir / n).is_file()]
        if missing:
            raise IncompleteRunError(
                f"{self.run_dir}: cannot write the manifest before {', '.join(missing)}"
            )
        entries = [
            {
                "path": p.relative_to(self.run_dir).as_posix(),
                "sha256": sha256_file(p),
                "size": p.stat().st_size,
            }
            for p in self._files()
        ]
        doc = {"schema_version": SCHEMA_VERSION, "files": entries}
        atomic_write_text(self.manifest_path, json.dumps(doc, indent=2) + "\n")
        return self.manifest_path

    def problems(self) -> list[str]:
        """Why the run is not complete (an empty list means it is)."""
        if not self.run_dir.is_dir():
            return [f"{self.run_dir} is not a directory"]
        out = [
            f"missing {n}" for n in (SAMPLES_CSV, SUMMARY_JSON) if not (self.run_dir / n).is_file()
        ]
        if not self.manifest_path.is_file():
            return [*out, f"missing {MANIFEST_JSON} (the run did not finish)"]
        try:
            doc = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            entries = {e["path"]: e for e in doc["files"]}
            for e in entries.values():
                str(e["sha256"]), int(e["size"])
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            return [*out, f"unreadable {MANIFEST_JSON} ({exc.__class__.__name__}: {exc})"]
        for name in (SAMPLES_CSV, SUMMARY_JSON):
            if name not in entries and (self.run_dir / name).is_file():
                out.append(f"{name} is not listed in {MANIFEST_JSON}")
        for rel, e in sorted(entries.items()):
            p = self.run_dir / rel
            if not p.is_file():
                out.append(f"missing {rel} (listed in {MANIFEST_JSON})")
            elif p.stat().st_size != int(e["size"]) or sha256_file(p) != e["sha256"]:
                out.append(f"{rel} changed after the manifest was written (hash mismatch)")
        return out

    def is_complete(self) -> bool:
        """True when samples, summary and manifest exist and every manifest hash matches."""
        return not self.problems()

    def require_complete(self) -> None:
        """Raise :class:`IncompleteRunError` (listing what is wrong) unless complete."""
        problems = self.problems()
        if problems:
            raise IncompleteRunError(
                f"{self.run_dir}: incomplete run: {'; '.join(problems)}. "
                f"Finish it with `fmbench run ... --run-dir {self.run_dir} --resume`."
            )
