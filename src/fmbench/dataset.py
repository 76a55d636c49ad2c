"""Dataset CSVs in the original work's format (docs/datasets.md), read and written with
the csv module.

Data CSV (``*_train.csv``, ``*_test.csv``): a pandas-style index column with an empty header,
then ``id, wav_path, patch_data, name, inaudible, has_fixed_freqs`` and optionally more
columns (``cot``, timbral attributes, …), which are kept as :attr:`DatasetRow.extra`.
Captions CSV: ``id, caption`` (optionally ``cot``), with or without the index column.

Reading is tolerant where the original readers are: the index column may be present (empty or
``Unnamed: 0`` header) or absent; other ``Unnamed: N`` columns are dropped; ``patch_data`` is
JSON or, for older files, a Python-literal dict (single quotes, ``True``) read with a bounded
:func:`ast.literal_eval` — never ``eval``; booleans are ``True``/``False`` (any case),
``1``/``0`` or ``yes``/``no``; a UTF-8 BOM is ignored; a file whose name ends in ``.gz``
is read through gzip. Everything else is a
:class:`DatasetError` naming the file and the line (and the id when known): an empty file,
missing columns, a row with the wrong number of fields, a duplicate id, an unparsable
``patch_data``, ids without a caption.

Writing always emits the index column (empty header, 0..n-1) so that pandas readers using
``index_col=0`` keep working.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError

__all__ = [
    "CAPTION_COLUMNS",
    "DATA_COLUMNS",
    "DatasetError",
    "DatasetRow",
    "load_items",
    "parse_patch_data",
    "read_captions",
    "read_dataset",
    "write_captions",
    "write_dataset",
]

#: required columns of a data CSV, in the order they are written
DATA_COLUMNS: tuple[str, ...] = (
    "id",
    "wav_path",
    "patch_data",
    "name",
    "inaudible",
    "has_fixed_freqs",
)
#: required columns of a captions CSV
CAPTION_COLUMNS: tuple[str, ...] = ("id", "caption")

_TRUE = {"true", "1", "yes", "t", "y", "1.0"}
_FALSE = {"false", "0", "no", "f", "n", "0.0", ""}
_MAX_FIELD = 64 * 1024 * 1024  # cot columns can be long; a field may not exceed this


class DatasetError(FmbenchError, ValueError):
    """A dataset or captions CSV that cannot be used; the message names file and row."""


@dataclass(frozen=True)
class DatasetRow:
    """One row of a data CSV. ``patch_data`` is the parsed dict exactly as stored (it may
    include the metadata keys ``name``/``has_fixed_freqs``); ``extra`` holds other columns."""

    id: str
    wav_path: str
    patch_data: dict[str, Any]
    name: str = ""
    inaudible: bool = False
    has_fixed_freqs: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    line: int | None = None  # line number in the file it was read from (1-based)


def _where(path: Path | str, line: int | None, rid: str | None = None) -> str:
    text = f"{path}"
    if line is not None:
        text += f", line {line}"
    if rid is not None:
        text += f" (id {rid})"
    return text


def parse_patch_data(text: str, *, where: str = "patch_data") -> dict[str, Any]:
    """Parse a ``patch_data`` cell: a JSON object, or a Python-literal dict (older files).

    The literal fallback uses the patch parser's bounded :func:`ast.literal_eval` helper.
    Raises :class:`DatasetError` with ``where`` in the message.
    """
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: patch_data is empty")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        from fmbench.patch.errors import PatchParseError
        from fmbench.patch.parse import safe_literal

        try:
            data = safe_literal(text.strip())
        except PatchParseError as exc:
            snippet = text.strip()[:60] + ("…" if len(text.strip()) > 60 else "")
            raise DatasetError(
                f"{where}: patch_data is neither JSON nor a Python literal ({snippet!r}): "
                f"{str(exc).removeprefix('failed to parse legacy specs block ')}"
            ) from None
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: patch_data is a {type(data).__name__}, not an object")
    return data


def _parse_bool(value: str, *, column: str, where: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise DatasetError(f"{where}: column {column!r} must be True or False, got {value!r}")


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (index column removed) and ``(line, cells)`` rows of a CSV file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.name.endswith(".gz"):
        import gzip
        import zlib

        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise DatasetError(f"{path}: empty file (expected a CSV with a header row)")
    old_limit = csv.field_size_limit()
    csv.field_size_limit(_MAX_FIELD)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader)
            rows = []
            start = reader.line_num + 1
            for cells in reader:
                if cells:  # blank lines are skipped, as pandas does
                    rows.append((start, cells))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DatasetError(f"{_where(path, reader.line_num)}: malformed CSV ({exc})") from None
    finally:
        csv.field_size_limit(old_limit)
    header = [h.strip() for h in header]
    keep = [
        i for i, h in enumerate(header) if not (h == "" and i == 0) and not h.startswith("Unnamed")
    ]
    if any(header[i] == "" for i in keep):
        raise DatasetError(f"{path}, line 1: a column other than the first has an empty header")
    names = [header[i] for i in keep]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DatasetError(f"{path}, line 1: duplicate column(s) {', '.join(dup)}")
    out = []
    for line, cells in rows:
        if len(cells) != len(header):
            raise DatasetError(
                f"{_where(path, line)}: {len(cells)} fields, but the header has {len(header)}"
            )
        out.append((line, [cells[i] for i in keep]))
    return names, out


def _require(path: Path, names: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in names]
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(missing)}"
            f" (found: {', '.join(names) or 'none'}; required: {', '.join(required)})"
        )


def _check_id(path: Path, line: int, rid: str, seen: dict[str, int]) -> str:
    rid = rid.strip()
    if not rid:
        raise DatasetError(f"{_where(path, line)}: empty id")
    if rid.endswith(".0") and rid[:-2].lstrip("-").isdigit():
        rid = rid[:-2]  # ids written as floats by pandas (e.g. after a NaN in the column)
    if rid in seen:
        raise DatasetError(
            f"{_where(path, line)}: duplicate id {rid!r} (first seen on line {seen[rid]})"
        )
    seen[rid] = line
    return rid


def read_dataset(path: str | os.PathLike[str]) -> list[DatasetRow]:
    """Read a data CSV (docs/datasets.md); see the module docstring for what is accepted."""
    return _read_rows(Path(path), parse_patches=True)


def _read_rows(path: Path, *, parse_patches: bool) -> list[DatasetRow]:
    """:func:`read_dataset`; with ``parse_patches=False`` every ``patch_data`` is left
    empty (for callers that already hold the file's patches)."""
    names, rows = _read_table(path)
    _require(path, names, DATA_COLUMNS)
    if not rows:
        raise DatasetError(f"{path}: no data rows (only a header)")
    col = {n: i for i, n in enumerate(names)}
    extra_cols = [n for n in names if n not in DATA_COLUMNS]
    seen: dict[str, int] = {}
    out = []
    for line, cells in rows:
        rid = _check_id(path, line, cells[col["id"]], seen)
        where = _where(path, line, rid)
        out.append(
            DatasetRow(
                id=rid,
                wav_path=cells[col["wav_path"]],
                patch_data=(
                    parse_patch_data(cells[col["patch_data"]], where=where) if parse_patches else {}
                ),
                name=cells[col["name"]],
                inaudible=_parse_bool(cells[col["inaudible"]], column="inaudible", where=where),
                has_fixed_freqs=_parse_bool(
                    cells[col["has_fixed_freqs"]], column="has_fixed_freqs", where=where
                ),
                extra={n: cells[col[n]] for n in extra_cols},
                line=line,
            )
        )
    return out


def read_captions(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a captions CSV: ``id → caption`` (file order). Empty captions are errors."""
    path = Path(path)
    names, rows = _read_table(path)
    _require(path, names, CAPTION_COLUMNS)
    if not rows:
        raise DatasetError(f"{path}: no caption rows (only a header)")
    ci, cc = names.index("id"), names.index("caption")
    seen: dict[str, int] = {}
    out: dict[str, str] = {}
    for line, cells in rows:
        rid = _check_id(path, line, cells[ci], seen)
        caption = cells[cc].strip()
        if not caption:
            raise DatasetError(f"{_where(path, line, rid)}: empty caption")
        out[rid] = caption
    return out


def _atomic_write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    from fmbench.files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["", *header])
        for i, row in enumerate(rows):
            w.writerow([i, *row])
    return path


def _bool_text(v: bool) -> str:
    return "True" if v else "False"


def write_dataset(path: str | os.PathLike[str], rows: Sequence[DatasetRow]) -> Path:
    """Write a data CSV with the index column (empty header) and the data columns.

    ``patch_data`` is written as compact JSON in the dict's own key order; extra columns
    (the union over rows, in first-seen order) follow the required ones. Atomic.
    """
    extra: list[str] = []
    for r in rows:
        for k in r.extra:
            if k not in extra and k not in DATA_COLUMNS:
                extra.append(k)
    return _atomic_write(
        Path(path),
        [*DATA_COLUMNS, *extra],
        (
            [
                r.id,
                r.wav_path,
                json.dumps(r.patch_data, separators=(",", ":")),
                r.name,
                _bool_text(r.inaudible),
                _bool_text(r.has_fixed_freqs),
                *(r.extra.get(k, "") for k in extra),
            ]
            for r in rows
        ),
    )


def write_captions(
    path: str | os.PathLike[str], captions: Mapping[str, str] | Iterable[tuple[str, str]]
) -> Path:
    """Write a captions CSV (index column, ``id``, ``caption``). Atomic."""
    items = captions.items() if isinstance(captions, Mapping) else captions
    return _atomic_write(Path(path), CAPTION_COLUMNS, ([k, v] for k, v in items))


def load_items(
    data_csv: str | os.PathLike[str],
    captions: str | os.PathLike[str] | Mapping[str, str],
    *,
    exclude_inaudible: bool = True,
) -> tuple[Any, ...]:
    """Benchmark items from a data CSV joined by id with a captions CSV (or mapping).

    Every kept row must have a caption and a valid patch (strict check);
    inaudible rows are dropped when ``exclude_inaudible``. Captions for ids not in the data
    are ignored (one captions file usually covers train and test). Returns a tuple of
    :class:`fmbench.benchmark.BenchmarkItem`.
    """
    from fmbench.benchmark import BenchmarkItem

    data_csv = Path(data_csv)
    stored, store = _stored_patches(data_csv, exclude_inaudible)
    rows = _read_rows(data_csv, parse_patches=stored is None)
    caps = captions if isinstance(captions, Mapping) else read_captions(captions)
    if exclude_inaudible:
        rows = [r for r in rows if not r.inaudible]
    missing = [r for r in rows if r.id not in caps]
    if missing:
        shown = ", ".join(f"{r.id} (line {r.line})" for r in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        cap_src = captions if not isinstance(captions, Mapping) else "the captions"
        raise DatasetError(
            f"{data_csv}: {len(missing)} id(s) have no caption in {cap_src}: {shown}{more}"
        )
    if stored is not None and len(stored) == len(rows):
        from fmbench.patch.model import Patch

        patches = [Patch.from_values(v) for v in stored]
    else:
        if stored is not None:  # the entry does not fit: parse the file after all
            rows = _read_rows(data_csv, parse_patches=True)
            if exclude_inaudible:
                rows = [r for r in rows if not r.inaudible]
        patches = _patches_of(data_csv, rows)
        store(patches)
    items = [
        BenchmarkItem(
            id=r.id,
            caption=caps[r.id],
            reference_patch=patch,
            name=r.name,
            wav_path=r.wav_path,
            inaudible=r.inaudible,
        )
        for r, patch in zip(rows, patches, strict=True)
    ]
    return tuple(items)


def _patches_of(data_csv: Path, rows: Sequence[DatasetRow]) -> list[Any]:
    """The validated :class:`~fmbench.patch.model.Patch` of every row (strict check)."""
    from fmbench.patch.canonical import strip_metadata
    from fmbench.patch.errors import InvalidPatchError
    from fmbench.patch.model import Patch

    patches = []
    for r in rows:
        try:
            patches.append(
                Patch.from_dict(
                    strip_metadata(r.patch_data), context=_where(data_csv, r.line, r.id)
                )
            )
        except InvalidPatchError as exc:
            raise DatasetError(str(exc)) from None
    return patches


#: cache namespace of the validated patches of data files (keyed by the file's bytes)
DATASET_PATCHES = "dataset-patches"


def _stored_patches(
    data_csv: Path, exclude_inaudible: bool
) -> tuple[list[list[int]] | None, Callable[[list[Any]], None]]:
    """(the validated patches of ``data_csv``'s kept rows as :meth:`Patch.to_values`
    lists, stored by an earlier load of exactly these bytes, or None; a function that
    stores them). Parsing and validating a few thousand patches takes about half a
    second; reading them back, a few milliseconds. Nothing is stored when the cache is
    off."""
    import hashlib

    import numpy as np

    from fmbench.cache import Cache, make_key

    cache = Cache()
    if not cache.enabled:
        return None, lambda patches: None
    try:
        digest = hashlib.sha256(data_csv.read_bytes()).hexdigest()
    except OSError:
        return None, lambda patches: None  # reading the rows reports the problem
    key = make_key(DATASET_PATCHES, 1, digest, bool(exclude_inaudible))
    from fmbench.patch.model import N_VALUES

    value = cache.get(DATASET_PATCHES, key)
    usable = value is not None and value.ndim == 2 and value.shape[1] == N_VALUES
    stored = value.tolist() if usable else None

    def store(patches: list[Any]) -> None:
        if patches:
            cache.put(DATASET_PATCHES, key, np.array([p.to_values() for p in patches], np.int16))

    return stored, store
