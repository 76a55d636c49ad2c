"""The ``outputs`` generator: model outputs produced elsewhere (CSV or JSONL), by id.

Each row is normalised on its own (the original work chose one column for the whole file,
which silently dropped every row when that column was empty):

- with ``source="auto"`` (default) the verbatim reply (``response_text``, then
  ``final_text``) is used when the row has one, so fmbench's own parser decides what the
  model said; otherwise the first non-empty patch column;
- patch columns are tried in the order ``patch_data, patch_data_rendered,
  generated_patch_data`` (``prefer_rendered=True`` puts ``patch_data_rendered`` first —
  note that it may hold a *repaired* patch, which credits the model with the repair);
- the original failure markers (``FAILED_RENDER``, ``FAILED``, ``ERROR``, ``None``,
  ``nan``, ``NaN``, empty) count as empty;
- a file with no reply or patch columns but an audio column (``audio_path``,
  ``wav_path``) holds a system that produced sound directly (e.g. a text-to-audio
  baseline): each file is scored as is (relative paths resolve against ``audio_dir``,
  default the file's folder). ``source="audio"`` forces this. In a file that has patch
  columns, ``wav_path`` is never used: it may point at a render of a repaired or default
  voice, which would credit the model with sound it did not specify.

An id without a row becomes a recorded failure, not a crash. Rows whose id matches no
item of the benchmark are counted and the first few named (:attr:`OutputsGenerator.notes`);
a file in which no row matches is an error.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fmbench.benchmark import BenchmarkItem
from fmbench.contracts import GeneratorOutput
from fmbench.errors import FmbenchError

VERSION = "0.1.0"
FAILURE_MARKERS = frozenset({"FAILED_RENDER", "FAILED", "ERROR", "None", "nan", "NaN", ""})
REPLY_COLUMNS = ("response_text", "final_text")
PATCH_COLUMNS = ("patch_data", "patch_data_rendered", "generated_patch_data")
AUDIO_COLUMNS = ("audio_path", "wav_path")
SOURCES = ("auto", "reply", "patch", "audio")


class OutputsError(FmbenchError):
    """A model-output file that cannot be used (missing, malformed, duplicate ids)."""


def _cell(row: dict[str, object], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return None if value.strip() in FAILURE_MARKERS else value


def read_rows(path: Path) -> list[dict[str, object]]:
    """Rows of a CSV (an unnamed pandas index column is ignored) or a JSONL file."""
    if not path.is_file():
        raise OutputsError(f"model-output file not found: {path}")
    # utf-8-sig: spreadsheet exports start with a byte-order mark, which would otherwise
    # become part of the first column's name ("\ufeffid")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise OutputsError(f"{path}:{n}: not a JSON object ({exc.msg})") from None
            if not isinstance(row, dict):
                raise OutputsError(f"{path}:{n}: expected a JSON object per line")
            rows.append(row)
        return rows
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(text.splitlines(keepends=True))
    if not reader.fieldnames:
        raise OutputsError(f"{path}: empty file (expected a header with an 'id' column)")
    return [{k: v for k, v in row.items() if k and not k.startswith("Unnamed")} for row in reader]


class OutputsGenerator:
    """Serves the rows of a model-output file, matched to benchmark items by ``id``."""

    def __init__(
        self,
        path: str,
        source: str = "auto",
        prefer_rendered: bool = False,
        audio_dir: str | None = None,
    ) -> None:
        if source not in SOURCES:
            raise OutputsError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.path = Path(path)
        self.source = source
        self.audio_dir = Path(audio_dir) if audio_dir else self.path.parent
        self.patch_columns = (
            ("patch_data_rendered", "patch_data", "generated_patch_data")
            if prefer_rendered
            else PATCH_COLUMNS
        )
        rows = read_rows(self.path)
        if rows and "id" not in rows[0]:
            raise OutputsError(f"{self.path}: no 'id' column (columns: {', '.join(rows[0])})")
        columns = {c for row in rows for c in row}
        self.audio_only = self.source == "auto" and not columns & {*REPLY_COLUMNS, *PATCH_COLUMNS}
        self.rows: dict[str, dict[str, object]] = {}
        for n, row in enumerate(rows, 1):
            key = str(row.get("id", "")).strip()
            if not key:
                raise OutputsError(f"{self.path}: row {n} has an empty id")
            if key in self.rows:
                raise OutputsError(f"{self.path}: duplicate id {key!r} (row {n})")
            self.rows[key] = row
        import hashlib

        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        self.identity = f"outputs/{VERSION}/{self.path.name}/{digest}/{source}"
        #: remarks for the run log (rows that match no benchmark item), set by :meth:`setup`
        self.notes: list[str] = []

    def setup(self, benchmark: Any) -> None:
        """Match the file's ids against every item of ``benchmark``: a file in which no row
        matches is an :class:`OutputsError`; unmatched rows are counted in :attr:`notes`."""
        wanted = [str(item.id) for item in benchmark.items()]
        known = set(wanted)
        unmatched = [key for key in self.rows if key not in known]
        if not unmatched:
            return
        first = ", ".join(repr(k) for k in unmatched[:5])
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        name = getattr(benchmark, "name", "the benchmark")
        if len(unmatched) == len(self.rows):
            example = ", ".join(repr(k) for k in wanted[:3])
            raise OutputsError(
                f"{self.path}: none of its {len(self.rows)} ids matches an item of benchmark"
                f" {name!r} (file ids: {first}{more}; benchmark ids look like: {example})"
            )
        self.notes.append(
            f"{self.path.name}: {len(unmatched)} of {len(self.rows)} rows match no item of"
            f" benchmark {name!r} and are ignored: {first}{more}"
        )

    def _reply(self, row: dict[str, object]) -> tuple[str | None, str]:
        if self.source in ("auto", "reply"):
            for column in REPLY_COLUMNS:
                value = _cell(row, column)
                if value is not None:
                    return value, column
        if self.source in ("auto", "patch"):
            for column in self.patch_columns:
                value = _cell(row, column)
                if value is not None:
                    return value, column
        return None, ""

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        outputs = []
        for item in items:
            row = self.rows.get(str(item.id))
            if row is None:
                outputs.append(
                    GeneratorOutput(info={"error": f"no row for id {item.id} in {self.path.name}"})
                )
                continue
            text, column = self._reply(row) if self.source != "audio" else (None, "")
            if text is None and (self.source == "audio" or self.audio_only):
                audio_path, column = self._audio(row)
                if audio_path is not None:
                    outputs.append(GeneratorOutput(audio_path=audio_path, info={"column": column}))
                    continue
            info = (
                {"column": column}
                if text is not None
                else {"error": "row has no reply, patch or audio"}
            )
            outputs.append(GeneratorOutput(raw_output=text, info=info))
        return outputs

    def _audio(self, row: dict[str, object]) -> tuple[str | None, str]:
        for column in AUDIO_COLUMNS:
            value = _cell(row, column)
            if value is not None:
                return str(self.audio_dir / value), column
        return None, ""
