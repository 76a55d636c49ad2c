"""Benchmarks: a dataset split, render settings and a default metric set.

A benchmark definition is a TOML file; its items are the rows of a dataset CSV (docs/datasets.md)
joined by id with a captions CSV. Paths are relative to the TOML file::

    name = "default"                 # letters, digits, - and _
    version = "1"                    # bump whenever the data or settings change
    description = "…"
    renderer = "dx7"                 # optional (default "dx7")
    metrics = ["parse_rate", "rms"]  # default metric specs; the runner validates them
    embedder = "mfcc"                # optional: what a bare kad/fad/kl embeds with

    [data]
    test = "../default/test.csv"     # required
    train = "../default/train.csv"   # optional (the prior/retrieval baselines need it)
    captions = "../default/captions.csv"   # or test_captions / train_captions
    exclude_inaudible = true         # drop rows flagged inaudible (as the original)
    limit = 10                       # optional: only the first N test items

    [render]                         # optional: RenderSettings fields
    sample_rate = 48000
    notes = [60]

Built-in definitions ship inside the package (``fmbench/data/benchmarks/*.toml``) and are
registered by the ``fmbench_plugins.benchmarks`` plugin; :func:`load_benchmark` takes a registered
name or a path to any TOML file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmbench.errors import FmbenchError
from fmbench.patch.model import Patch
from fmbench.render import DEFAULT_RENDERER, RenderSettings


@dataclass(frozen=True)
class BenchmarkItem:
    """One captioned item. ``reference_patch`` is the ground truth: only the ``oracle``
    generator and the metrics may read it."""

    id: str
    caption: str
    reference_patch: Patch | None = None
    name: str | None = None
    wav_path: str | None = None  # relative path of the reference render (docs/datasets.md)
    inaudible: bool = False


@dataclass(frozen=True)
class Benchmark:
    """A benchmark definition (see ``benchmarks/*.toml``)."""

    name: str
    version: str
    description: str
    test: tuple[BenchmarkItem, ...]
    train: tuple[BenchmarkItem, ...] = ()
    render: RenderSettings = field(default_factory=RenderSettings)
    renderer: str = DEFAULT_RENDERER
    metrics: tuple[str, ...] = ()  # default metric specs, e.g. ("rms", "kad:mfcc")
    embedder: str = "mfcc"  # the embedder a bare distribution metric (kad, fad, kl) uses
    source: Path | None = None  # the TOML file it was loaded from

    @property
    def identity(self) -> str:
        return f"{self.name}@{self.version}"

    def items(self, limit: int | None = None) -> Sequence[BenchmarkItem]:
        """The evaluated (test) items, optionally the first ``limit`` of them."""
        return self.test if limit is None else self.test[:limit]


class BenchmarkDefinitionError(FmbenchError, ValueError):
    """A benchmark TOML that cannot be used; the message names the file and the key."""


_TOP_KEYS = {"name", "version", "description", "renderer", "metrics", "embedder", "data", "render"}
_DATA_KEYS = {
    "test",
    "train",
    "captions",
    "test_captions",
    "train_captions",
    "exclude_inaudible",
    "limit",
}


def read_definition(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed and checked TOML of a benchmark definition (no data is read)."""
    import tomllib

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise BenchmarkDefinitionError(f"{path}: benchmark file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchmarkDefinitionError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise BenchmarkDefinitionError(f"{path}: cannot read ({exc})") from None

    def need(cond: bool, message: str) -> None:
        if not cond:
            raise BenchmarkDefinitionError(f"{path}: {message}")

    unknown = sorted(set(doc) - _TOP_KEYS)
    need(
        not unknown, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_KEYS))}"
    )
    name = doc.get("name")
    need(
        isinstance(name, str) and name != "" and name.replace("-", "").replace("_", "").isalnum(),
        f"'name' must be a non-empty string of letters, digits, - and _ (got {name!r})",
    )
    version = doc.get("version")
    need(isinstance(version, (str, int)), "'version' is required (a string such as \"1\")")
    doc["version"] = str(version)
    need(isinstance(doc.get("description", ""), str), "'description' must be a string")
    need(isinstance(doc.get("renderer", DEFAULT_RENDERER), str), "'renderer' must be a string")
    need(isinstance(doc.get("embedder", "mfcc"), str), "'embedder' must be a string")
    metrics = doc.get("metrics", [])
    need(
        isinstance(metrics, list) and all(isinstance(m, str) and m for m in metrics),
        "'metrics' must be a list of metric names",
    )
    data = doc.get("data")
    need(isinstance(data, dict), "a [data] table is required")
    unknown = sorted(set(data) - _DATA_KEYS)
    need(not unknown, f"unknown [data] key(s) {', '.join(unknown)}")
    need(isinstance(data.get("test"), str), '[data] test = "<data CSV>" is required')
    for key in ("train", "captions", "test_captions", "train_captions"):
        need(isinstance(data.get(key, ""), str), f"[data] {key} must be a path string")
    need(
        "captions" in data or "test_captions" in data,
        '[data] needs captions = "<captions CSV>" (or test_captions/train_captions)',
    )
    need(isinstance(data.get("exclude_inaudible", True), bool), "[data] exclude_inaudible: bool")
    limit = data.get("limit")
    need(limit is None or (isinstance(limit, int) and limit >= 1), "[data] limit must be >= 1")
    render = doc.get("render", {})
    need(isinstance(render, dict), "[render] must be a table")
    fields = {f.name for f in dataclasses.fields(RenderSettings)}
    unknown = sorted(set(render) - fields)
    need(
        not unknown,
        f"unknown [render] key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}",
    )
    try:
        _render_settings(render)
    except (TypeError, ValueError) as exc:
        need(False, f"[render]: {exc}")
    return doc


def _render_settings(table: dict[str, Any]) -> RenderSettings:
    """RenderSettings from a [render] table (lists become tuples); raises on bad values,
    including durations beyond fmbench's limit (a render's length is capped)."""
    return RenderSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})


def load_benchmark_file(path: str | os.PathLike[str]) -> Benchmark:
    """Load a benchmark from its TOML definition (reads and validates all its data)."""
    from fmbench.dataset import load_items, read_captions

    path = Path(path)
    doc = read_definition(path)
    data = doc["data"]
    base = path.parent
    try:
        settings = _render_settings(doc.get("render", {}))
    except (TypeError, ValueError) as exc:
        raise BenchmarkDefinitionError(f"{path}: [render]: {exc}") from None
    exclude = data.get("exclude_inaudible", True)
    shared = read_captions(base / data["captions"]) if "captions" in data else None

    def captions_for(split: str) -> Any:
        key = f"{split}_captions"
        return read_captions(base / data[key]) if key in data else shared

    test = load_items(base / data["test"], captions_for("test"), exclude_inaudible=exclude)
    if data.get("limit"):
        test = test[: data["limit"]]
    train: tuple[BenchmarkItem, ...] = ()
    if data.get("train"):
        caps = captions_for("train")
        if caps is None:
            raise BenchmarkDefinitionError(f"{path}: [data] train needs captions or train_captions")
        train = load_items(base / data["train"], caps, exclude_inaudible=exclude)
    return Benchmark(
        name=doc["name"],
        version=doc["version"],
        description=doc.get("description", ""),
        test=test,
        train=train,
        render=settings,
        renderer=doc.get("renderer", DEFAULT_RENDERER),
        metrics=tuple(doc.get("metrics", ())),
        embedder=doc.get("embedder", "mfcc"),
        source=path,
    )


def builtin_benchmark_files() -> list[Path]:
    """The benchmark TOMLs shipped inside the package (``fmbench/data/benchmarks``)."""
    folder = Path(__file__).resolve().parent / "data" / "benchmarks"
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load_benchmark(name_or_path: str | os.PathLike[str]) -> Benchmark:
    """A benchmark by registered name (``default``) or from a TOML path.

    A string ending in ``.toml`` or naming an existing file is a path; anything else is
    looked up in the registry (unknown names raise with suggestions).
    """
    text = os.fspath(name_or_path)
    if text.endswith(".toml") or os.sep in text or Path(text).is_file():
        return load_benchmark_file(text)
    from fmbench.components import ComponentKind
    from fmbench.plugins import get_registry

    bench = get_registry().create(ComponentKind.BENCHMARK, text)
    if not isinstance(bench, Benchmark):
        raise BenchmarkDefinitionError(
            f"benchmark {text!r}: its factory returned {type(bench).__name__}, not a Benchmark"
        )
    return bench
