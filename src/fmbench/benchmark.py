"""Benchmarks: a dataset split, render settings and a default metric set.

A benchmark definition is a TOML file (``benchmarks/*.toml``); its items are the rows of
a dataset CSV (spec §6.1) joined with a captions CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fmbench.patch.model import Patch
from fmbench.render import RenderSettings


@dataclass(frozen=True)
class BenchmarkItem:
    """One captioned item. ``reference_patch`` is the ground truth: only the ``oracle``
    generator and the metrics may read it."""

    id: str
    caption: str
    reference_patch: Patch | None = None
    name: str | None = None
    wav_path: str | None = None  # relative path of the reference render (spec §6.1)
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
    renderer: str = "dx7"
    metrics: tuple[str, ...] = ()  # default metric specs, e.g. ("rms", "kad:mfcc")
    source: Path | None = None  # the TOML file it was loaded from

    @property
    def identity(self) -> str:
        return f"{self.name}@{self.version}"

    def items(self, limit: int | None = None) -> Sequence[BenchmarkItem]:
        """The evaluated (test) items, optionally the first ``limit`` of them."""
        return self.test if limit is None else self.test[:limit]
