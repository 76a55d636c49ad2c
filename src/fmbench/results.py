"""The run store: ``runs/<run-id>/`` with a samples table, ``summary.json`` and a manifest.

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
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError

SCHEMA_VERSION = 1
SAMPLES_CSV = "samples.csv"
SUMMARY_JSON = "summary.json"
MANIFEST_JSON = "manifest.json"

#: Columns of ``samples.csv`` that hold text (everything else that parses as a float is one).
TEXT_COLUMNS = frozenset({"id", "caption", "raw_output", "parse_error", "patch", "audio_hash"})
#: Boolean columns, written as ``True``/``False``.
BOOL_COLUMNS = frozenset({"parsed_ok", "valid", "repaired", "rendered", "inaudible"})
#: Columns holding JSON (written compactly).
JSON_COLUMNS = frozenset({"problems"})
NOTE_PREFIX = "note:"


class RunStoreError(FmbenchError):
    """A run directory or one of its files cannot be used (missing, malformed, ...)."""


class SchemaVersionError(RunStoreError):
    """A summary written with another (older or newer) schema version, or none."""


class IncompleteRunError(RunStoreError):
    """A run directory that is not complete (missing files or manifest mismatch)."""


# --------------------------------------------------------------------------------------
# summary dataclasses


def _num(x: Any) -> float:
    """JSON value → float (``null`` means NaN)."""
    return math.nan if x is None else float(x)


def _json_num(x: float | None) -> float | None:
    """float → JSON value (NaN and inf become ``null``: strict JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class BenchmarkRef:
    """Which benchmark a run evaluated."""

    name: str
    version: str
    identity: str
    n_items: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "name": self.name,
            "version": self.version,
            "identity": self.identity,
            "n_items": self.n_items,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchmarkRef:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["name"]), str(d["version"]), str(d["identity"]), int(d["n_items"]))


@dataclass
class ComponentRef:
    """A generator or renderer: name, identity and the options/settings it ran with."""

    name: str
    identity: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, options_key: str = "options") -> dict[str, Any]:
        """Plain JSON-ready dict (``options_key`` is ``settings`` for renderers)."""
        return {"name": self.name, "identity": self.identity, options_key: dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], options_key: str = "options") -> ComponentRef:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["name"]), str(d["identity"]), dict(d.get(options_key) or {}))


@dataclass
class Accounting:
    """What happened to every item: generated, parsed, valid, repaired, rendered, inaudible."""

    n_items: int = 0
    n_generated: int = 0
    n_parsed: int = 0
    n_valid: int = 0
    n_repaired: int = 0
    n_rendered: int = 0
    n_inaudible: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain JSON-ready dict."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Accounting:
        """Inverse of :meth:`to_dict` (missing counters are 0)."""
        return cls(**{k: int(d.get(k, 0) or 0) for k in cls.__dataclass_fields__})


@dataclass
class Estimate:
    """A value with its 95% CI over ``n`` items (NaN where undefined)."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN → null)."""
        return {
            "value": _json_num(self.value),
            "ci_low": _json_num(self.ci_low),
            "ci_high": _json_num(self.ci_high),
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        return cls(_num(d["value"]), _num(d.get("ci_low")), _num(d.get("ci_high")), int(d["n"]))


@dataclass
class MetricSummary:
    """One metric output column of a run: its value, CI, direction and provenance.

    ``value`` follows the run's failure policy; ``valid_only`` holds the seed-compatible
    number over valid samples only (None when the run did not compute it).
    """

    metric: str
    direction: str  # "higher" | "lower"
    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    n_nan: int = 0
    metric_identity: str = ""
    kind: str = ""
    valid_only: Estimate | None = None
    #: how the 95% CI was computed: "bootstrap" (percentile, per-sample metrics) or
    #: "jackknife" (delete-one, normal approximation; set-level metrics)
    ci_method: str = "bootstrap"

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"direction must be 'higher' or 'lower', not {self.direction!r}")

    @property
    def higher_is_better(self) -> bool:
        """True when larger values are better."""
        return self.direction == "higher"

    @property
    def arrow(self) -> str:
        """↑ or ↓."""
        return "↑" if self.higher_is_better else "↓"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN → null)."""
        return {
            "metric": self.metric,
            "metric_identity": self.metric_identity,
            "kind": self.kind,
            "direction": self.direction,
            "value": _json_num(self.value),
            "ci_low": _json_num(self.ci_low),
            "ci_high": _json_num(self.ci_high),
            "ci_method": self.ci_method,
            "n": self.n,
            "n_nan": self.n_nan,
            "valid_only": None if self.valid_only is None else self.valid_only.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricSummary:
        """Inverse of :meth:`to_dict`."""
        vo = d.get("valid_only")
        return cls(
            metric=str(d["metric"]),
            direction=str(d["direction"]),
            value=_num(d["value"]),
            ci_low=_num(d.get("ci_low")),
            ci_high=_num(d.get("ci_high")),
            n=int(d.get("n", 0)),
            n_nan=int(d.get("n_nan", 0)),
            metric_identity=str(d.get("metric_identity", "")),
            kind=str(d.get("kind", "")),
            valid_only=None if vo is None else Estimate.from_dict(vo),
            ci_method=str(d.get("ci_method", "bootstrap")),
        )


@dataclass
class RunSummary:
    """The versioned ``summary.json`` of a run (see the run contract)."""

    run_id: str
    benchmark: BenchmarkRef
    generator: ComponentRef
    renderer: ComponentRef
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    accounting: Accounting = field(default_factory=Accounting)
    created: str = ""
    complete: bool = True
    fmbench_version: str = ""
    git_sha: str | None = None
    seed: int = 0
    failure_policy: str = "score-as-failure"
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for round trips
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict in the contract's key order."""
        d: dict[str, Any] = {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "created": self.created,
            "complete": self.complete,
            "fmbench_version": self.fmbench_version,
            "git_sha": self.git_sha,
            "seed": self.seed,
            "benchmark": self.benchmark.to_dict(),
            "generator": self.generator.to_dict("options"),
            "renderer": self.renderer.to_dict("settings"),
            "failure_policy": self.failure_policy,
            "accounting": self.accounting.to_dict(),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "errors": dict(self.errors),
            "timings": dict(self.timings),
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSummary:
        """Inverse of :meth:`to_dict`. Raises KeyError/TypeError/ValueError on bad data;
        :func:`load_summary` turns those into a :class:`RunStoreError` naming the file."""
        known = set(cls.__dataclass_fields__) - {"extra"}
        metrics = d.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise TypeError("'metrics' must be an object")
        return cls(
            schema_version=int(d["schema_version"]),
            run_id=str(d["run_id"]),
            created=str(d.get("created", "")),
            complete=bool(d.get("complete", True)),
            fmbench_version=str(d.get("fmbench_version", "")),
            git_sha=d.get("git_sha"),
            seed=int(d.get("seed", 0) or 0),
            benchmark=BenchmarkRef.from_dict(d["benchmark"]),
            generator=ComponentRef.from_dict(d["generator"], "options"),
            renderer=ComponentRef.from_dict(d["renderer"], "settings"),
            failure_policy=str(d.get("failure_policy", "score-as-failure")),
            accounting=Accounting.from_dict(d.get("accounting") or {}),
            metrics={str(k): MetricSummary.from_dict(v) for k, v in metrics.items()},
            errors={str(k): str(v) for k, v in (d.get("errors") or {}).items()},
            timings=dict(d.get("timings") or {}),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_json(self) -> str:
        """Strict JSON text (no NaN), indented, ending with a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def summary_from_json_text(text: str, source: str | os.PathLike[str]) -> RunSummary:
    """Parse and validate summary JSON text; errors name ``source`` and say what to do."""
    if not text.strip():
        raise RunStoreError(f"{source}: empty file (not a run summary)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunStoreError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunStoreError(f"{source}: expected a JSON object, found {type(data).__name__}")
    version = data.get("schema_version")
    if version is None:
        raise SchemaVersionError(
            f"{source}: no 'schema_version' (not an fmbench run summary, or written before "
            f"versioning); re-run the benchmark with this fmbench to get a version "
            f"{SCHEMA_VERSION} summary"
        )
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaVersionError(f"{source}: 'schema_version' must be an integer, not {version!r}")
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{source}: summary schema version {version} is older than this fmbench's "
            f"version {SCHEMA_VERSION}; re-run the benchmark (`fmbench run ...`) to "
            f"regenerate it"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{source}: summary schema version {version} is newer than this fmbench's "
            f"version {SCHEMA_VERSION}; upgrade fmbench (`pip install -U fmbench`) to read it"
        )
    try:
        return RunSummary.from_dict(data)
    except KeyError as exc:
        raise RunStoreError(f"{source}: malformed summary: missing field {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise RunStoreError(f"{source}: malformed summary: {exc}") from None


def load_summary(path_or_run_dir: str | os.PathLike[str]) -> RunSummary:
    """Load a ``summary.json`` (or the one inside a run directory), checking its schema."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / SUMMARY_JSON
    if not path.exists():
        raise RunStoreError(f"{path}: no such file (expected a run directory or summary.json)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunStoreError(f"{path}: cannot read ({exc})") from None
    return summary_from_json_text(text, path)


# --------------------------------------------------------------------------------------
# atomic files, hashing, helpers


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync,
    then :func:`os.replace` (readers see the old file or the new one, never a torn one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_sha(path: str | os.PathLike[str] | None = None) -> str | None:
    """The HEAD commit of the git work tree containing ``path`` (cwd by default), or None
    outside a git repository or without git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def slugify(text: str) -> str:
    """A file-name-safe version of a component name (``outputs:preds.csv`` → ``outputs_preds.csv``)."""
    slug = re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("._")
    return slug or "x"


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


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds (for ``created``)."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


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
# the run store


class RunStore:
    """Reads and writes one run directory (``runs/<run-id>/``).

    Typical writer sequence: :meth:`write_samples`, :meth:`write_summary`, then
    :meth:`write_manifest` (last). :meth:`is_complete` checks the result.
    """

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.run_dir = Path(run_dir)

    def __repr__(self) -> str:
        return f"RunStore({str(self.run_dir)!r})"

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
