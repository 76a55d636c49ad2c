"""The contracts between the runner and metric / embedder / generator plugins.

A run is a list of :class:`Sample` objects filled stage by stage. Metrics read the
fields their ``needs`` declare and return a :class:`MetricResult`: per-sample columns
(NaN with a stated reason where a value cannot be computed) and/or set-level values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fmbench.audio import Audio
from fmbench.benchmark import BenchmarkItem
from fmbench.patch.errors import Problem
from fmbench.patch.model import Patch


@dataclass
class GeneratorOutput:
    """What a generator produced for one caption: raw text, a patch dict, or audio.

    ``audio_path`` is for systems that produce sound directly (text-to-audio baselines,
    or renders made elsewhere): the runner reads the file and scores it as is; metrics
    that need a patch have none to read for such a sample.
    """

    raw_output: str | None = None  # verbatim model reply (parsed by the runner)
    patch: dict[str, Any] | None = None  # an already-structured patch (skips parsing)
    info: dict[str, Any] = field(default_factory=dict)  # e.g. retries, token counts
    audio_path: str | None = None  # generated audio file (no patch involved)


@dataclass
class Sample:
    """One benchmark item as it moves through a run."""

    id: str
    caption: str
    reference_patch: Patch | None = None
    raw_output: str | None = None
    parsed: dict[str, Any] | None = None  # the object parsed from raw_output (may be invalid)
    parse_error: str | None = None
    problems: list[Problem] = field(default_factory=list)  # from validate; empty = valid
    patch: Patch | None = None  # valid (or explicitly repaired) patch that was rendered
    repaired: bool = False
    audio: Audio | None = None
    reference_audio: Audio | None = None
    scores: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # column → reason for NaN / failure
    direct_audio: bool = False  # the generator produced audio itself (no patch)

    @property
    def parsed_ok(self) -> bool:
        return self.parsed is not None

    @property
    def valid(self) -> bool:
        """A usable output: a valid patch, or audio the generator produced directly."""
        return (self.parsed is not None and not self.problems) or self.direct_audio


@dataclass
class MetricResult:
    """A metric's output.

    ``per_sample`` maps an output column to one value per scored sample (aligned with
    the ``samples`` passed to ``score``); ``set_values`` holds set-level values (FAD,
    KAD, …); ``reasons`` maps ``(column, sample_index)`` to why a value is NaN.
    """

    per_sample: dict[str, np.ndarray] = field(default_factory=dict)
    set_values: dict[str, float] = field(default_factory=dict)
    reasons: dict[tuple[str, int], str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # e.g. raw attributes, bandwidth

    def value(self, column: str) -> float:
        """The run-level value: the set value, or the NaN-skipping mean of a column."""
        if column in self.set_values:
            return float(self.set_values[column])
        arr = np.asarray(self.per_sample[column], dtype=np.float64)
        finite = arr[~np.isnan(arr)]
        return float(finite.mean()) if finite.size else math.nan


@runtime_checkable
class Metric(Protocol):
    """What a metric factory returns."""

    identity: str  # name + version + settings (+ model hash): part of cache keys

    def score(self, samples: Sequence[Sample]) -> MetricResult:
        """Score ``samples``: per-sample columns aligned with them and/or set values."""
        ...

    # Optional, for set-level metrics: ``resampler(samples)`` does the expensive work
    # once (e.g. embedding) and returns ``f(indices) -> {column: value}`` equal to
    # scoring ``[samples[i] for i in indices]``; the runner's bootstrap uses it.


@runtime_checkable
class Embedder(Protocol):
    """What an embedder factory returns (used by FAD / KAD / KL)."""

    identity: str
    dim: int
    sample_rate: int

    def embed(self, audio: Audio) -> np.ndarray:
        """One clip's embedding rows, ``(frames, dim)`` float32."""
        ...


@runtime_checkable
class Generator(Protocol):
    """What a generator factory returns.

    The runner calls ``setup(benchmark)`` first when the generator defines it (e.g. to
    fit on ``benchmark.train``), then ``generate`` with the evaluated items; generators
    other than ``oracle`` must read only ``item.id`` and ``item.caption``.
    """

    identity: str

    def generate(self, items: Sequence[BenchmarkItem], *, seed: int) -> list[GeneratorOutput]:
        """One output per item, in order; deterministic for a given ``seed``."""
        ...
